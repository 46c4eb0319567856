"""Wires the communication context: its services (built once from its runtime), routes,
tables, permissions, jobs and event subscriptions. Only ``hub.app``, ``hub.cli`` and
``hub.worker`` import this."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from hub.communication.controllers.notifications import DeliveryController, NotificationController
from hub.communication.controllers.preferences import DefaultsController, PreferencesController
from hub.communication.controllers.stream import StreamController
from hub.communication.controllers.templates import TemplateController
from hub.communication.controllers.webhooks import WebhookController
from hub.communication.domain.permissions import PERMISSIONS
from hub.communication.domain.settings import CommunicationSettings
from hub.communication.facade import CommunicationFacade
from hub.communication.handlers import WEBHOOK_FEED, on_document_shared
from hub.communication.models import Base
from hub.communication.services.deliveries import DeliveryLog
from hub.communication.services.email import DeferredRelease, EmailDelivery
from hub.communication.services.fanout import FanOut
from hub.communication.services.inbox import InboxService
from hub.communication.services.preferences import PreferenceService
from hub.communication.services.sending import SendService
from hub.communication.services.stream import StreamService
from hub.communication.services.templates import TemplateService
from hub.communication.services.webhook_delivery import (
    WebhookDispatch,
    WebhookRetries,
    WebhookSender,
)
from hub.communication.services.webhooks import SEAL_PURPOSE, WebhookService
from hub.communication.tasks import (
    RELEASE_EVERY_MINUTE,
    WEBHOOK_RETRIES_EVERY_5S,
    fan_out,
    release_deferred,
    send_email,
    webhook_deliver,
    webhook_retries,
)
from hub.content.api import DocumentShared
from hub.identity.api import IdentityApi
from hub.kernel.contexts import ContextModule
from hub.kernel.egress import AddressPolicy
from hub.kernel.runtime import ContextRuntime
from hub.kernel.sealing import Sealer
from hub.kernel.subscribers import Handler, Subscription


def services(rt: ContextRuntime, *, identity_api: IdentityApi) -> dict[str, Any]:
    """Every use case of communication, wired once per process."""
    store, clock = rt.store, rt.clock
    settings: CommunicationSettings = rt.config
    templates = TemplateService(store, clock)
    sending = SendService(
        store,
        rt.tenancy,
        identity_api,
        templates,
        clock,
        rt.queue_job,
        batch_size=settings.notification_batch_size,
        max_recipients=settings.notification_max_recipients,
    )
    stream = StreamService(rt.redis, clock, max_seconds=settings.notification_stream_max_seconds)
    return {
        "notification_templates": templates,
        "notifications": sending,
        "notification_stream": stream,
        "notification_fan_out": FanOut(store, templates, clock, rt.queue_job, stream),
        "email_delivery": EmailDelivery(
            store, templates, identity_api, clock, rt.settings, rt.mail_transport
        ),
        "deferred_release": DeferredRelease(store, clock, rt.queue_job),
        "inbox": InboxService(store, clock),
        "preferences": PreferenceService(store, clock),
        "delivery_log": DeliveryLog(store),
        "communication_public_url": str(rt.settings.public_url),
        "communication_api": CommunicationFacade(sending),
        **webhook_services(rt, settings, sending),
    }


def webhook_services(
    rt: ContextRuntime, settings: CommunicationSettings, sending: SendService
) -> dict[str, Any]:
    sealer = Sealer.from_settings(rt.settings, SEAL_PURPOSE)
    policy = AddressPolicy.of(settings.webhook_allow_private_networks)
    return {
        "webhooks": WebhookService(
            rt.store,
            rt.tenancy,
            rt.clock,
            rt.queue_job,
            sealer=sealer,
            policy=policy,
            overlap=timedelta(hours=settings.webhook_secret_overlap_hours),
        ),
        "webhook_dispatch": WebhookDispatch(rt.clock, rt.queue_job),
        "webhook_sender": WebhookSender(
            rt.store,
            rt.clock,
            sending,
            sealer=sealer,
            policy=policy,
            timeout_s=settings.webhook_timeout_seconds,
        ),
        "webhook_release": WebhookRetries(rt.store, rt.clock, rt.queue_job),
    }


def build() -> ContextModule:
    return ContextModule(
        name="communication",
        metadata=Base.metadata,
        depends_on=("identity", "content"),
        settings=CommunicationSettings,
        services=services,
        route_handlers=[
            NotificationController,
            DeliveryController,
            PreferencesController,
            DefaultsController,
            TemplateController,
            StreamController,
            WebhookController,
        ],
        permissions=PERMISSIONS,
        subscriptions=[
            Subscription(
                DocumentShared,
                cast(Handler, on_document_shared),  # its services are injected by name
                name="communication.document_shared",
            )
        ],
        catch_all=[WEBHOOK_FEED],
        jobs=[fan_out, send_email, release_deferred, webhook_deliver, webhook_retries],
        periodic=[RELEASE_EVERY_MINUTE, WEBHOOK_RETRIES_EVERY_5S],
    )
