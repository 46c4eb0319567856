"""`hub secrets rotate` covers communication too: chat/SMS channel URLs, webhook secrets
(the current one and the one still signing beside it), webhooks' custom headers, push
subscriptions and the VAPID key made under key A are re-sealed under B, unchanged, so
dropping A breaks no channel, no receiver's signature check and no browser's
subscription."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from hub.communication.domain.push import Subscription
from hub.communication.services.channels import SEAL_PURPOSE as CHANNEL_SEAL
from hub.communication.services.push import SEAL_PURPOSE as PUSH_SEAL
from hub.communication.services.webhooks import SEAL_PURPOSE as WEBHOOK_SEAL
from hub.communication.services.webhooks import headers_context
from hub.kernel.sealing import Sealer, UnsealableError
from hub.kernel.settings import Settings
from tests.integration.communication.support_push import Browser
from tests.integration.communication.support_webhooks import WEBHOOKS, create_webhook
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import create_org, person
from tests.integration.identity.test_secret_rotation import A, B, _row, hub_secrets, running

CHANNEL_URL = "json://hub:pAss-5ecret@127.0.0.1:9/hooks/tOkEn-5ecret"
SEALED = (
    "channel URLs",
    "webhook secrets",
    "previous webhook secrets",
    "webhook headers",
    "push subscriptions",
    "the VAPID key",
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(
        notification_channel_allowed_networks=("127.0.0.1/32",),
        webhook_allow_private_networks=("127.0.0.1/32",),
    )


def _opened(key: str, purpose: str, sealed: bytes, row_id: uuid.UUID) -> bytes:
    return Sealer([key], purpose).open(bytes(sealed), context=row_id.bytes)


async def test_rotation_reseals_channel_urls_and_webhook_secrets_unchanged(
    settings: Settings, database_url: str, clean_state: None
) -> None:
    async with running(settings, A) as client:
        owner = await person(client, database_url, "owner@example.com")
        org = (await create_org(client, owner))["id"]
        r = await client.post(
            f"{API}/orgs/{org}/notification-channels",
            json={"kind": "chat", "name": "#ops", "url": CHANNEL_URL},
            headers=owner.auth,
        )
        assert r.status_code == 201, r.text
        channel = uuid.UUID(r.json()["id"])
        hook = await create_webhook(
            client,
            owner,
            org,
            "http://127.0.0.1:9/hooks",
            ["content.document.*"],
            headers={"Authorization": "Bearer receiver-token"},
        )
        first = hook["secret"]
        r = await client.post(f"{WEBHOOKS}/{hook['id']}/rotate-secret", headers=owner.auth)
        assert r.status_code == 200, r.text
        second = r.json()["secret"]
        key = (await client.get(f"{API}/notifications/push-key", headers=owner.auth)).json()
        browser = Browser("https://push.example.com/owners-browser")
        r = await client.post(
            f"{API}/notifications/push-subscriptions",
            json=browser.subscription(),
            headers=owner.auth,
        )
        assert r.status_code == 201, r.text
        subscription = uuid.UUID(r.json()["id"])
    endpoint = uuid.UUID(hook["id"])

    before = await asyncio.to_thread(hub_secrets, settings, "status", B, A)
    for what in SEALED:
        assert _row(before, what) == ["0", "1", "0", "-"], before

    rotated = await asyncio.to_thread(hub_secrets, settings, "rotate", B, A)
    for what in SEALED:
        assert f"{what}: 1 moved to the current key, 0 already on it" in rotated, rotated
    # identity's values are still rotated by the same command
    assert "signing keys: 1 moved to the current key" in rotated
    again = await asyncio.to_thread(hub_secrets, settings, "rotate", B, A)
    assert "channel URLs: 0 moved to the current key, 1 already on it" in again
    after = await asyncio.to_thread(hub_secrets, settings, "status", B, A)
    for what in SEALED:
        assert _row(after, what) == ["1", "0", "0", "-"], after

    # B alone opens them, to the very same URL and secrets; A opens nothing any more.
    (row,) = await fetch(database_url, "SELECT url_sealed FROM communication.notification_channels")
    assert _opened(B, CHANNEL_SEAL, row["url_sealed"], channel) == CHANNEL_URL.encode()
    (hook_row,) = await fetch(
        database_url,
        "SELECT secret_sealed, previous_secret_sealed, headers_sealed"
        " FROM communication.webhook_endpoints",
    )
    current = _opened(B, WEBHOOK_SEAL, hook_row["secret_sealed"], endpoint)
    previous = _opened(B, WEBHOOK_SEAL, hook_row["previous_secret_sealed"], endpoint)
    assert (current.decode(), previous.decode()) == (second, first)
    headers = Sealer([B], WEBHOOK_SEAL).open(
        bytes(hook_row["headers_sealed"]), context=headers_context(endpoint)
    )
    assert json.loads(headers) == {"Authorization": "Bearer receiver-token"}
    with pytest.raises(UnsealableError):
        _opened(A, WEBHOOK_SEAL, hook_row["secret_sealed"], endpoint)
    (push_row,) = await fetch(database_url, "SELECT sealed FROM communication.push_subscriptions")
    opened = Subscription.from_json(_opened(B, PUSH_SEAL, push_row["sealed"], subscription))
    assert (opened.endpoint, opened.auth) == (browser.endpoint, browser.auth)

    # The hub started with B alone still reads the channel (its host comes from the URL).
    async with running(settings, B) as client:
        r = await client.get(f"{API}/orgs/{org}/notification-channels", headers=owner.auth)
        assert r.status_code == 200, r.text
        (listed,) = r.json()["items"]
        assert (listed["id"], listed["host"]) == (str(channel), "127.0.0.1")
        # The browsers stay bound to the same VAPID key: it was re-sealed, not replaced.
        r = await client.get(f"{API}/notifications/push-key", headers=owner.auth)
        assert r.json() == key


async def test_a_process_serving_some_contexts_rotates_only_theirs(
    settings: Settings, database_url: str, clean_state: None
) -> None:
    """Split deployment: `hub secrets` where HUB_CONTEXTS names identity only covers
    identity's values; communication's are rotated where communication runs."""
    async with running(settings, A) as client:
        owner = await person(client, database_url, "owner@example.com")
        org = (await create_org(client, owner))["id"]
        await create_webhook(client, owner, org, "http://127.0.0.1:9/hooks", ["content.*"])
    elsewhere = {
        f"HUB_REMOTE_{ctx.upper()}_URL": "http://127.0.0.1:9"
        for ctx in ("content", "communication", "workflow")
    }
    identity_only = await asyncio.to_thread(
        hub_secrets, settings, "rotate", B, A, HUB_CONTEXTS="identity", **elsewhere
    )
    assert "signing keys: 1 moved to the current key" in identity_only
    assert "webhook secrets" not in identity_only
    everything = await asyncio.to_thread(hub_secrets, settings, "rotate", B, A)
    assert "webhook secrets: 1 moved to the current key" in everything
    assert "signing keys: 0 moved to the current key, 1 already on it" in everything
