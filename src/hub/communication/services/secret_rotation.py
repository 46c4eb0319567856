"""Communication's values sealed under ``HUB_SECRET_KEY``, for ``hub secrets rotate`` and
``status`` (:mod:`hub.kernel.secret_rotation`).

Channel URLs (chat webhooks and SMS gateways carry their credentials in the URL),
webhook signing secrets (the current one and the one still signing beside it after a
rotation), webhook endpoints' custom headers, browsers' push subscriptions and the
hub's VAPID private key (which must survive the rotation: browsers are bound to it).
Each is bound to its row: the AEAD context is the row id's 16 bytes (``headers:`` before
them for the headers, ``vapid`` for the key), as the
services seal them. Re-sealing changes no secret, so receivers notice nothing.
"""

from __future__ import annotations

import uuid

from hub.communication.models import (
    NotificationChannel,
    PushSubscription,
    VapidKey,
    WebhookEndpoint,
)
from hub.communication.services.channels import SEAL_PURPOSE as CHANNEL_SEAL
from hub.communication.services.push import SEAL_PURPOSE as PUSH_SEAL
from hub.communication.services.push import VAPID_CONTEXT
from hub.communication.services.webhooks import SEAL_PURPOSE as WEBHOOK_SEAL
from hub.communication.services.webhooks import headers_context
from hub.kernel.sealing import Sealer, configured_key_ids
from hub.kernel.secret_rotation import SealedColumn, SealedColumns
from hub.kernel.settings import Settings
from hub.kernel.store import Store


def _row_id(key: uuid.UUID) -> bytes:
    return key.bytes


def _vapid(_: int) -> bytes:
    return VAPID_CONTEXT


def sealed_values(store: Store, settings: Settings) -> SealedColumns:
    """Dependency ``communication_secret_rotation``."""
    channels = Sealer.from_settings(settings, CHANNEL_SEAL)
    webhooks = Sealer.from_settings(settings, WEBHOOK_SEAL)
    push = Sealer.from_settings(settings, PUSH_SEAL)
    channel, endpoint = NotificationChannel, WebhookEndpoint
    return SealedColumns(
        store,
        configured_key_ids(settings),
        [
            SealedColumn("channel URLs", channel, "id", "url_sealed", channels, _row_id),
            SealedColumn("webhook secrets", endpoint, "id", "secret_sealed", webhooks, _row_id),
            SealedColumn(
                "previous webhook secrets",
                endpoint,
                "id",
                "previous_secret_sealed",
                webhooks,
                _row_id,
            ),
            SealedColumn(
                "webhook headers", endpoint, "id", "headers_sealed", webhooks, headers_context
            ),
            SealedColumn("push subscriptions", PushSubscription, "id", "sealed", push, _row_id),
            SealedColumn("the VAPID key", VapidKey, "id", "private_sealed", push, _vapid),
        ],
    )
