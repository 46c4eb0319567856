"""Outbound webhooks end to end: real events through the catch-all, a real worker, and a
real HTTP receiver on a loopback port that verifies every delivery with the
``standardwebhooks`` library. Time moves on a test clock; nothing sleeps through a timer.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar
from sqlalchemy.engine import make_url
from structlog.testing import capture_logs

from hub.app import context_modules
from hub.communication.domain import webhooks as rules
from hub.communication.services.webhook_delivery import WebhookRetries, WebhookSender
from hub.communication.services.webhooks import SEAL_PURPOSE
from hub.kernel.clock import MovableClock
from hub.kernel.runtime import Kernel
from hub.kernel.sealing import Sealer
from hub.kernel.settings import Settings
from hub.kernel.wiring import assemble
from hub.worker import InProcessWorker
from tests.integration.communication.support import Client, inbox, org_with
from tests.integration.communication.support_webhooks import (
    WEBHOOKS,
    Receiver,
    certificates,
    create_webhook,
    ping,
    receiving,
    webhook_clock,
    webhook_deliveries,
)
from tests.integration.content.support import pdf, uploaded
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import create_org, person


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The receivers listen on 127.0.0.1, which only the allow-list lets deliveries reach."""
    return settings.replace(webhook_allow_private_networks=("127.0.0.1/32",))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiving()


@pytest.fixture
def other_receiver() -> Iterator[Receiver]:
    yield from receiving()


@pytest.fixture
async def clocked(
    app: Litestar, events: InProcessWorker, settings: Settings
) -> AsyncIterator[tuple[MovableClock, Kernel]]:
    """A test clock on every webhook service, and a kernel on this loop whose retry
    release the test runs (as the periodic job would)."""
    clock = MovableClock(datetime.now(UTC))
    assert settings.database_url is not None
    assert settings.redis_url is not None
    kernel = Kernel(settings, settings.database_url, settings.redis_url, clock=clock)
    assemble(kernel, context_modules())
    webhook_clock(clock, app=app, worker=events, also=[kernel])
    try:
        yield clock, kernel
    finally:
        await kernel.close()


def _sender(events: InProcessWorker) -> WebhookSender:
    sender: WebhookSender = events.background.worker_kernel().services["webhook_sender"]
    return sender


async def test_deliveries_verify_across_a_secret_rotation(
    client: Client,
    database_url: str,
    events: InProcessWorker,
    receiver: Receiver,
    clocked: tuple[MovableClock, Kernel],
) -> None:
    clock, kernel = clocked
    with capture_logs() as logs:
        owner, org, _ = await org_with(client, database_url)
        hook = await create_webhook(
            client, owner, org, receiver.url, ["content.document.*"], description="Docs"
        )
        first = hook["secret"]
        assert first.startswith("whsec_")
        assert (hook["enabled"], hook["eventTypes"]) == (True, ["content.document.*"])

        document = await uploaded(client, owner, org, pdf(b"report"), title="Q3")
        await events.drain()
        (got,) = receiver.of_type("content.document.uploaded")
        assert got.verifies(first)
        body = got.json()
        assert body["data"]["documentId"] == document["id"]
        assert body["data"]["organisationId"] == org
        assert set(body) == {"type", "timestamp", "data"}
        assert got.headers["content-type"] == "application/json"
        assert got.headers["webhook-signature"].startswith("v1,")
        assert got.path == "/hooks"

        r = await client.post(f"{WEBHOOKS}/{hook['id']}/rotate-secret", headers=owner.auth)
        assert r.status_code == 200, r.text
        second = r.json()["secret"]
        overlap_ends = datetime.fromisoformat(r.json()["previousSecretExpiresAt"])
        assert overlap_ends - clock() == timedelta(hours=24)
        receiver.received.clear()
        await ping(client, owner, hook["id"])
        await events.drain()
        (during,) = receiver.received
        assert during.json()["type"] == "webhook.ping"
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        assert during.verifies(first)  # either secret works
        assert during.verifies(second)

        clock.advance(hours=24, seconds=1)
        receiver.received.clear()
        await ping(client, owner, hook["id"])
        await events.drain()
        (after,) = receiver.received
        assert after.verifies(second)
        assert not after.verifies(first)  # the old one dropped
        assert await kernel.services["webhook_release"].release_due() == 0
        r = await client.get(f"{WEBHOOKS}/{hook['id']}", headers=owner.auth)
        assert r.json()["previousSecretExpiresAt"] is None

        # the secret is in the creation and rotation answers only
        listed = await client.get(WEBHOOKS, params={"organisationId": org}, headers=owner.auth)
        one = await client.get(f"{WEBHOOKS}/{hook['id']}", headers=owner.auth)
        patched = await client.patch(
            f"{WEBHOOKS}/{hook['id']}", json={"description": "Docs!"}, headers=owner.auth
        )
        log_list = await client.get(f"{WEBHOOKS}/{hook['id']}/deliveries", headers=owner.auth)
        for response in (listed, one, patched, log_list):
            assert response.status_code == 200, response.text
            for secret in (first, second):
                assert secret not in response.text
                assert secret.removeprefix("whsec_") not in response.text
            assert '"secret"' not in response.text
    logged = repr(logs)
    assert "webhook_attempt" in logged
    for secret in (first, second):
        assert secret.removeprefix("whsec_") not in logged
    # at rest: sealed, not stored as given
    dsn = make_url(database_url).set(drivername="postgresql")
    conn = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        row = await conn.fetchrow(
            "SELECT secret_sealed, previous_secret_sealed FROM communication.webhook_endpoints"
        )
    finally:
        await conn.close()
    assert row is not None
    stored = bytes(row["secret_sealed"])
    assert rules.secret_key(second) not in stored
    assert second.encode() not in stored
    assert row["previous_secret_sealed"] is None


async def test_a_failing_endpoint_follows_the_schedule_then_is_disabled_and_admins_told(
    client: Client,
    database_url: str,
    events: InProcessWorker,
    receiver: Receiver,
    clocked: tuple[MovableClock, Kernel],
) -> None:
    clock, kernel = clocked
    release: WebhookRetries = kernel.services["webhook_release"]
    owner, org, people = await org_with(client, database_url, ("ann", None))
    hook = await create_webhook(client, owner, org, receiver.url, ["content.document.*"])
    receiver.always = 503
    started = clock()
    await ping(client, owner, hook["id"])
    await events.drain()
    expected = [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30)]
    expected += [timedelta(hours=h) for h in (2, 5, 10, 10)]
    for attempt, delay in enumerate(expected, start=1):
        (row,) = await webhook_deliveries(client, owner, hook["id"])
        assert (row["status"], row["attempts"]) == ("pending", attempt)
        assert (row["responseStatus"], row["lastError"]) == (503, "HTTP 503")
        assert row["responseBody"].startswith("receiver says no")
        assert len(row["responseBody"]) == 2048  # the answer was longer: truncated
        assert row["durationMs"] is not None
        due = datetime.fromisoformat(row["nextAttemptAt"])
        last = datetime.fromisoformat(row["lastAttemptAt"])
        assert delay <= due - last <= delay * 1.1  # the schedule, plus up to 10 % jitter
        clock.set(due - timedelta(seconds=1))
        assert await release.release_due() == 0  # never early
        clock.set(due)
        assert await release.release_due() == 1
        await events.drain()
    (row,) = await webhook_deliveries(client, owner, hook["id"])
    assert (row["status"], row["attempts"], row["nextAttemptAt"]) == ("failed", 8, None)
    assert len(receiver.received) == 8
    assert len({r.id for r in receiver.received}) == 1  # one webhook-id on every attempt
    assert all(r.verifies(hook["secret"]) for r in receiver.received)
    r = await client.get(f"{WEBHOOKS}/{hook['id']}", headers=owner.auth)
    assert r.json()["enabled"] is True  # failing for ~28 h: not yet given up
    assert datetime.fromisoformat(r.json()["failingSince"]) == started

    clock.set(started + timedelta(days=4, hours=23))
    await ping(client, owner, hook["id"])
    await events.drain()
    r = await client.get(f"{WEBHOOKS}/{hook['id']}", headers=owner.auth)
    assert r.json()["enabled"] is True
    clock.set(started + timedelta(days=5))
    await ping(client, owner, hook["id"])
    await events.drain()
    r = await client.get(f"{WEBHOOKS}/{hook['id']}", headers=owner.auth)
    assert (r.json()["enabled"], r.json()["disabledReason"]) == (False, "failing")
    statuses = {d["status"] for d in await webhook_deliveries(client, owner, hook["id"])}
    assert statuses == {"failed"}  # nothing left pending

    (notice,) = [i for i in await inbox(client, owner) if "Webhook" in i["title"]]
    assert notice["title"] == "Webhook to 127.0.0.1 disabled"
    assert "every delivery failed for 5 days" in notice["body"]
    ann = people["ann"]  # a member without communication.webhooks.manage
    assert [i for i in await inbox(client, ann) if "Webhook" in i["title"]] == []

    # disabled: nothing is sent, a test is refused, enabling starts afresh
    sent = len(receiver.received)
    await uploaded(client, owner, org, pdf(b"x"))
    await events.drain()
    assert len(receiver.received) == sent
    r = await client.post(f"{WEBHOOKS}/{hook['id']}/test", headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (409, "webhook_disabled")
    r = await client.patch(f"{WEBHOOKS}/{hook['id']}", json={"enabled": True}, headers=owner.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["enabled"], r.json()["disabledReason"], r.json()["failingSince"]) == (
        True,
        None,
        None,
    )


async def test_410_disables_at_once_and_a_manual_retry_keeps_the_webhook_id(
    client: Client,
    database_url: str,
    events: InProcessWorker,
    receiver: Receiver,
    other_receiver: Receiver,
    clocked: tuple[MovableClock, Kernel],
) -> None:
    owner, org, _ = await org_with(client, database_url)
    flaky = await create_webhook(client, owner, org, receiver.url, ["content.document.*"])
    receiver.plan = [(500, {})]
    await uploaded(client, owner, org, pdf(b"one"), title="One")
    await events.drain()
    (row,) = await webhook_deliveries(client, owner, flaky["id"], status="pending")
    assert row["eventType"] == "content.document.uploaded"
    assert (row["attempts"], row["responseStatus"]) == (1, 500)
    r = await client.post(
        f"{WEBHOOKS}/{flaky['id']}/deliveries/{row['id']}/retry", headers=owner.auth
    )
    assert r.status_code == 202, r.text
    await events.drain()
    first, again = [r for r in receiver.received if r.json()["type"] == row["eventType"]]
    assert first.id == again.id == row["webhookId"]  # the same webhook-id
    assert first.body == again.body
    assert again.verifies(flaky["secret"])
    (done,) = [
        d for d in await webhook_deliveries(client, owner, flaky["id"]) if d["id"] == row["id"]
    ]
    assert (done["status"], done["attempts"], done["responseStatus"]) == ("succeeded", 2, 200)
    r = await client.get(f"{WEBHOOKS}/{flaky['id']}", headers=owner.auth)
    assert r.json()["failingSince"] is None  # a success ends the failing streak

    gone = await create_webhook(client, owner, org, other_receiver.url, ["content.document.*"])
    other_receiver.always = 410
    await uploaded(client, owner, org, pdf(b"two"), title="Two")
    await events.drain()
    assert len(other_receiver.of_type("content.document.uploaded")) == 1  # not retried
    r = await client.get(f"{WEBHOOKS}/{gone['id']}", headers=owner.auth)
    assert (r.json()["enabled"], r.json()["disabledReason"]) == (False, "gone")
    statuses = {d["status"] for d in await webhook_deliveries(client, owner, gone["id"])}
    assert statuses == {"failed"}
    notices = [i["body"] for i in await inbox(client, owner) if "Webhook" in i["title"]]
    assert any("410 Gone" in b for b in notices)
    r = await client.post(
        f"{WEBHOOKS}/{gone['id']}/deliveries/{row['id']}/retry", headers=owner.auth
    )
    assert r.status_code == 409


async def test_ssrf_is_refused_at_save_and_at_delivery(
    client: Client,
    database_url: str,
    events: InProcessWorker,
    receiver: Receiver,
    clocked: tuple[MovableClock, Kernel],
) -> None:
    owner, org, _ = await org_with(client, database_url)
    refused = {
        "http://127.0.0.2/hook": "127.0.0.2 is a loopback address.",  # not in the allow-list
        "http://[::1]:9000/hook": "::1 is a loopback address.",
        "http://169.254.169.254/latest/meta-data/": "169.254.169.254 is a cloud metadata address.",
        "http://10.0.0.1/": "10.0.0.1 is a private address.",
        "http://localhost:9000/": "localhost is a loopback name.",
        "http://user:secret@hooks.example.com/": "URLs with credentials",
        "file:///etc/passwd": "Only http:// and https://",
    }
    for url, reason in refused.items():
        r = await client.post(
            WEBHOOKS,
            json={"organisationId": org, "url": url, "eventTypes": ["*"]},
            headers=owner.auth,
        )
        assert r.status_code == 422, (url, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        (error,) = r.json()["errors"]
        assert error["field"] == "url"
        assert reason in error["message"], (url, error)
    r = await client.post(
        WEBHOOKS,
        json={"organisationId": org, "url": receiver.url, "eventTypes": ["content.nothing.*"]},
        headers=owner.auth,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "eventTypes[0]"

    # a name is checked at every delivery, against every address it resolves to
    sender = _sender(events)
    answers: dict[str, list[str]] = {}

    async def resolver(host: str, port: int) -> list[str]:
        return answers[host]

    sender.resolver = resolver
    named = await create_webhook(
        client, owner, org, f"http://hooks.example.com:{receiver.port}/in", ["content.tag.*"]
    )
    answers["hooks.example.com"] = ["127.0.0.1"]  # allowed: the local receiver
    await ping(client, owner, named["id"])
    await events.drain()
    (pinned,) = receiver.received
    assert pinned.headers["host"] == f"hooks.example.com:{receiver.port}"  # name kept
    assert pinned.path == "/in"
    answers["hooks.example.com"] = ["10.0.0.1"]  # rebinding to an internal address
    await ping(client, owner, named["id"])
    await events.drain()
    (latest, _) = await webhook_deliveries(client, owner, named["id"])
    assert (latest["status"], latest["responseStatus"]) == ("pending", None)
    assert latest["lastError"] == (
        "refused: hooks.example.com resolves to 10.0.0.1, a private address."
    )
    answers["hooks.example.com"] = ["127.0.0.1", "169.254.169.254"]
    await ping(client, owner, named["id"])
    await events.drain()
    (latest, *_) = await webhook_deliveries(client, owner, named["id"])
    assert "169.254.169.254, a cloud metadata address" in latest["lastError"]
    assert len(receiver.received) == 1  # neither reached anything

    # a redirect to an internal address is an answer, never followed
    receiver.received.clear()
    receiver.plan = [(302, {"Location": "http://169.254.169.254/latest/meta-data/"})]
    direct = await create_webhook(client, owner, org, receiver.url, ["content.tag.*"])
    await ping(client, owner, direct["id"])
    await events.drain()
    (row,) = await webhook_deliveries(client, owner, direct["id"])
    assert (row["status"], row["responseStatus"]) == ("pending", 302)
    assert row["lastError"] == (
        "HTTP 302: redirect to http://169.254.169.254/latest/meta-data/ not followed"
    )
    assert len(receiver.received) == 1


async def test_organisations_see_and_receive_only_their_own(
    client: Client,
    database_url: str,
    events: InProcessWorker,
    receiver: Receiver,
    other_receiver: Receiver,
    clocked: tuple[MovableClock, Kernel],
) -> None:
    alice, org_a, people = await org_with(client, database_url, ("ann", None))
    bob = await person(client, database_url, "bob@example.com")
    org_b = (await create_org(client, bob, name="Beta"))["id"]
    hook_a = await create_webhook(client, alice, org_a, receiver.url, ["*"])
    hook_b = await create_webhook(client, bob, org_b, other_receiver.url, ["*"])

    await uploaded(client, alice, org_a, pdf(b"a"), title="A's")
    await person(client, database_url, "carol@example.com")  # a platform event
    await events.drain()
    types_a = {r.json()["type"] for r in receiver.received}
    assert "content.document.uploaded" in types_a
    assert {r.json()["data"]["organisationId"] for r in receiver.received} == {org_a}
    assert {r.json()["data"]["organisationId"] for r in other_receiver.received} == {org_b}
    for r in [*receiver.received, *other_receiver.received]:
        assert not r.json()["type"].startswith("identity.user_")  # platform: never sent
    assert all(r.verifies(hook_a["secret"]) for r in receiver.received)
    assert all(r.verifies(hook_b["secret"]) for r in other_receiver.received)

    # org B's owner cannot list, see, change, test or delete org A's endpoint
    r = await client.get(WEBHOOKS, params={"organisationId": org_a}, headers=bob.auth)
    assert r.status_code == 404
    base = f"{WEBHOOKS}/{hook_a['id']}"
    for method, path, body in [
        ("GET", base, None),
        ("PATCH", base, {"enabled": False}),
        ("DELETE", base, None),
        ("POST", f"{base}/test", None),
        ("POST", f"{base}/rotate-secret", None),
        ("GET", f"{base}/deliveries", None),
    ]:
        r = await client.request(method, path, json=body, headers=bob.auth)
        assert r.status_code == 404, (method, path, r.text)
    r = await client.get(WEBHOOKS, params={"organisationId": org_b}, headers=bob.auth)
    assert [w["id"] for w in r.json()["items"]] == [hook_b["id"]]
    # a member of A without the permission: 403
    ann = people["ann"]
    r = await client.get(WEBHOOKS, params={"organisationId": org_a}, headers=ann.auth)
    assert r.status_code == 403
    r = await client.get(base, headers=ann.auth)
    assert r.status_code == 403
    r = await client.post(
        WEBHOOKS,
        json={"organisationId": org_a, "url": receiver.url, "eventTypes": ["*"]},
        headers=ann.auth,
    )
    assert r.status_code == 403

    r = await client.delete(base, headers=alice.auth)
    assert r.status_code == 204
    r = await client.get(base, headers=alice.auth)
    assert r.status_code == 404


async def test_a_slow_receiver_times_out(
    client: Client,
    database_url: str,
    events: InProcessWorker,
    receiver: Receiver,
    clocked: tuple[MovableClock, Kernel],
) -> None:
    owner, org, _ = await org_with(client, database_url)
    hook = await create_webhook(client, owner, org, receiver.url, ["content.tag.*"])
    _sender(events).timeout_s = 1  # HUB_WEBHOOK_TIMEOUT_SECONDS=1
    receiver.delay = 2.5
    await ping(client, owner, hook["id"])
    await events.drain()
    (row,) = await webhook_deliveries(client, owner, hook["id"])
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["lastError"] == "timed out (at most 1 s per attempt)"
    assert row["responseStatus"] is None


async def test_https_goes_to_the_pinned_address_and_verifies_the_name(
    client: Client,
    database_url: str,
    events: InProcessWorker,
    clocked: tuple[MovableClock, Kernel],
    tmp_path: Path,
) -> None:
    """The connection goes to the checked address, yet TLS sends the name (SNI) and the
    certificate is verified against the name, not the address."""
    server_tls, client_tls = certificates(tmp_path, "hooks.example.com")
    owner, org, _ = await org_with(client, database_url)
    sender = _sender(events)
    sender.tls = client_tls  # receivers' CA: this test's

    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    sender.resolver = resolver
    for receiver in receiving(server_tls):
        good = await create_webhook(
            client, owner, org, f"https://hooks.example.com:{receiver.port}/in", ["content.tag.*"]
        )
        wrong = await create_webhook(
            client, owner, org, f"https://other.example.com:{receiver.port}/in", ["content.tag.*"]
        )
        await ping(client, owner, good["id"])
        await ping(client, owner, wrong["id"])
        await events.drain()
        (got,) = receiver.received
        assert got.headers["host"] == f"hooks.example.com:{receiver.port}"
        assert got.verifies(good["secret"])
        (ok,) = await webhook_deliveries(client, owner, good["id"])
        assert (ok["status"], ok["responseStatus"]) == ("succeeded", 200)
        (refused,) = await webhook_deliveries(client, owner, wrong["id"])
        assert refused["status"] == "pending"
        assert "CERTIFICATE_VERIFY_FAILED" in refused["lastError"]
        assert "other.example.com" in refused["lastError"]


async def test_a_secret_sealed_under_a_lost_key_fails_visibly_until_rotated(
    client: Client,
    app: Litestar,
    database_url: str,
    events: InProcessWorker,
    receiver: Receiver,
    clocked: tuple[MovableClock, Kernel],
) -> None:
    owner, org, _ = await org_with(client, database_url)
    hook = await create_webhook(client, owner, org, receiver.url, ["content.tag.*"])
    r = await client.post(
        WEBHOOKS,
        json={"organisationId": org, "url": receiver.url, "eventTypes": ["content.tag.*", ""]},
        headers=owner.auth,
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["eventTypes[1]"]
    # HUB_SECRET_KEY replaced without listing the old one in HUB_SECRET_KEY_PREVIOUS
    lost = Sealer(["another key, the old one is gone" * 2], SEAL_PURPOSE)
    _sender(events).sealer = lost
    app.state["kernel"].services["webhooks"].sealer = lost
    await ping(client, owner, hook["id"])
    await events.drain()
    (row,) = await webhook_deliveries(client, owner, hook["id"])
    assert row["status"] == "pending"
    assert "rotate the secret" in row["lastError"]
    assert receiver.received == []
    r = await client.post(f"{WEBHOOKS}/{hook['id']}/rotate-secret", headers=owner.auth)
    assert r.status_code == 200, r.text
    await ping(client, owner, hook["id"])
    await events.drain()
    (got,) = receiver.received
    assert got.verifies(r.json()["secret"])
    assert " " not in got.headers["webhook-signature"]  # the unopenable one is left out


async def test_custom_headers_go_with_every_delivery_and_are_never_shown(
    client: Client,
    database_url: str,
    events: InProcessWorker,
    receiver: Receiver,
) -> None:
    owner, org, _ = await org_with(client, database_url)
    hook = await create_webhook(
        client,
        owner,
        org,
        receiver.url,
        ["content.document.*"],
        headers={"Authorization": "Bearer rcv-7f3a", "X-Tenant": "acme corp"},
    )
    assert hook["headerNames"] == ["Authorization", "X-Tenant"]
    assert "rcv-7f3a" not in json.dumps(hook)
    r = await client.get(f"{WEBHOOKS}/{hook['id']}", headers=owner.auth)
    assert r.json()["headerNames"] == ["Authorization", "X-Tenant"]
    assert "rcv-7f3a" not in r.text
    sealed = await fetch(database_url, "SELECT headers_sealed FROM communication.webhook_endpoints")
    assert b"rcv-7f3a" not in bytes(sealed[0]["headers_sealed"])

    await ping(client, owner, hook["id"])
    await events.drain()
    (got,) = receiver.received
    assert (got.headers["authorization"], got.headers["x-tenant"]) == (
        "Bearer rcv-7f3a",
        "acme corp",
    )
    assert got.verifies(hook["secret"])  # the hub's own headers are untouched

    # Bad headers are named and change nothing.
    url = f"{WEBHOOKS}/{hook['id']}"
    for headers, field in (
        ({"Webhook-Signature": "v1,forged"}, "headers.Webhook-Signature"),
        ({"Content-Type": "text/plain"}, "headers.Content-Type"),
        ({"X-Evil": "a\r\nX-Injected: 1"}, "headers.X-Evil"),
        ({"X-Nul": "a\u0000b"}, "headers.X-Nul"),
        ({"X-Nbsp": "\u00a0token"}, "headers.X-Nbsp"),
        ({"X Space": "v"}, "headers.X Space"),
        ({"X-A": "1", "x-a": "2"}, "headers.x-a"),
        ({f"X-{i}": "v" for i in range(11)}, "headers"),
        ({"X-Long": "v" * 1001}, "headers.X-Long"),
    ):
        r = await client.patch(url, json={"headers": headers}, headers=owner.auth)
        assert r.status_code == 422, (headers, r.text)
        assert field in {e["field"] for e in r.json()["errors"]}, r.text
    r = await client.post(
        WEBHOOKS,
        json={
            "organisationId": org,
            "url": receiver.url,
            "eventTypes": ["*"],
            "headers": {"Host": "elsewhere"},
        },
        headers=owner.auth,
    )
    assert r.status_code == 422, r.text
    assert len(await fetch(database_url, "SELECT id FROM communication.webhook_endpoints")) == 1

    # Replaced, then removed; only a real change is an update event.
    r = await client.patch(url, json={"headers": {"X-Tenant": "beta"}}, headers=owner.auth)
    assert (r.status_code, r.json()["headerNames"]) == (200, ["X-Tenant"])
    r = await client.patch(url, json={"headers": {"X-Tenant": "beta"}}, headers=owner.auth)
    assert r.status_code == 200
    r = await client.patch(url, json={"headers": {}}, headers=owner.auth)
    assert r.json()["headerNames"] == []
    updates = await fetch(
        database_url,
        "SELECT payload FROM communication.outbox WHERE event_type = $1 ORDER BY position",
        "communication.webhook.updated",
    )
    assert [json.loads(u["payload"])["changed"] for u in updates] == [["headers"], ["headers"]]
    receiver.received.clear()
    await ping(client, owner, hook["id"])
    await events.drain()
    (bare,) = receiver.received
    assert "authorization" not in bare.headers
    assert "x-tenant" not in bare.headers
    # Headers no configured key opens are never sent half-way: the attempt fails, named.
    await client.patch(url, json={"headers": {"X-Tenant": "gamma"}}, headers=owner.auth)
    await fetch(
        database_url,
        "UPDATE communication.webhook_endpoints SET headers_sealed = $1",
        b"\x01" + b"\x00" * 40,
    )
    receiver.received.clear()
    sent = await ping(client, owner, hook["id"])
    await events.drain()
    assert receiver.received == []
    (attempt,) = [
        d for d in await webhook_deliveries(client, owner, hook["id"]) if d["id"] == sent["id"]
    ]
    assert "custom headers do not open" in attempt["lastError"]
