"""Chat and SMS channels through Apprise: a ``json://`` channel posting to a real local
HTTP receiver, its secrets in no response, log line or database column in clear, bad URLs
and private addresses refused, other organisations kept out, a failing receiver retried
and recorded, quiet hours deferring a post until they end."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from litestar import Litestar
from structlog.testing import capture_logs

from hub.app import context_modules
from hub.communication.services.email import DeferredRelease
from hub.kernel.clock import MovableClock
from hub.kernel.deadletter import list_dead
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.wiring import assemble
from hub.worker import InProcessWorker
from tests.conftest import fast_job_settings
from tests.integration.communication.support import (
    NOTIFICATIONS,
    Client,
    deliveries,
    org_with,
    sent,
    use_clock,
)
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, create_org, person

TOKEN = "tOkEn-5ecret-9f8e7d"
PASSWORD = "pAss-5ecret-1a2b3c"


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return base_settings.replace(
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        rate_limit_enabled=False,
        notification_channel_allowed_networks=("127.0.0.1/32",),
    )


class Receiver:
    """A real HTTP server on loopback: records each POST, answers the queued statuses
    (then 200, or ``always`` when set)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.statuses: list[int] = []
        self.always: int | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.posts.append((self.path, json.loads(body)))
                if receiver.always is not None:
                    status = receiver.always
                else:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])

    def url(self, scheme: str = "json") -> str:
        return f"{scheme}://hub:{PASSWORD}@127.0.0.1:{self.port}/hooks/{TOKEN}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


def channels_url(org: str) -> str:
    return f"{API}/orgs/{org}/notification-channels"


async def add_channel(client: Client, who: Person, org: str, **body: Any) -> dict[str, Any]:
    r = await client.post(channels_url(org), json={"kind": "chat", **body}, headers=who.auth)
    assert r.status_code == 201, r.text
    assert TOKEN not in r.text
    assert PASSWORD not in r.text
    created: dict[str, Any] = r.json()
    return created


async def chat_on(client: Client, who: Person, org: str, category: str = "general") -> None:
    r = await client.put(
        f"{NOTIFICATIONS}/defaults",
        params={"organisationId": org},
        json={"channels": {category: {"chat": True}}},
        headers=who.auth,
    )
    assert r.status_code == 200, r.text


async def test_a_chat_channel_posts_the_text_and_its_secrets_appear_nowhere(
    client: Client,
    database_url: str,
    events: InProcessWorker,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with capture_logs() as structured:
        owner, org, people = await org_with(client, database_url, ("ann", None))
        channel = await add_channel(
            client, owner, org, name="#general", url=receiver.url(), categories=["general"]
        )
        assert (channel["scheme"], channel["service"], channel["host"]) == (
            "json",
            "JSON",
            "127.0.0.1",
        )
        assert channel["enabled"] is True
        assert "url" not in channel
        # a channel serving another category, and a disabled one: never posted to here
        await add_channel(
            client, owner, org, name="docs", url=receiver.url(), categories=["documents"]
        )
        await add_channel(client, owner, org, name="off", url=receiver.url(), enabled=False)
        # chat is off by default: the post is skipped (and logged as such)
        quiet = await sent(client, owner, org, channels=["chat"])
        await events.drain()
        (row,) = await deliveries(client, owner, org, notificationId=quiet["id"])
        assert (row["status"], row["channelId"]) == ("skipped", channel["id"])
        assert row["reason"] == "turned off in the organisation's defaults"
        await chat_on(client, owner, org)
        note = await sent(
            client, owner, org, payload={"title": "Standup", "text": "at ten <b>sharp</b>"}
        )
        await events.drain()

        ((path, body),) = receiver.posts
        assert path == f"/hooks/{TOKEN}"
        assert body["message"] == "Standup\n\nat ten <b>sharp</b>"
        rows = await deliveries(client, owner, org, notificationId=note["id"], channel="chat")
        (row,) = rows
        assert (row["userId"], row["channelId"]) == (None, channel["id"])
        assert (row["status"], row["provider"], row["attempts"]) == ("sent", "apprise:json", 1)
        everyone = await deliveries(client, owner, org, notificationId=note["id"])
        assert {(r["userId"], r["channel"]) for r in everyone if r["userId"]} >= {
            (people["ann"].user_id, "in_app"),
            (people["ann"].user_id, "email"),
        }

        listed = await client.get(channels_url(org), headers=owner.auth)
        one = await client.get(f"{channels_url(org)}/{channel['id']}", headers=owner.auth)
        renamed = await client.patch(
            f"{channels_url(org)}/{channel['id']}",
            json={"name": "#all-hands", "categories": []},
            headers=owner.auth,
        )
        log_page = await client.get(
            f"{NOTIFICATIONS}/deliveries", params={"organisationId": org}, headers=owner.auth
        )
        await events.drain()
        audit = await client.get(
            f"{API}/audit", params={"organisationId": org, "limit": 100}, headers=owner.auth
        )
    for r in (listed, one, renamed, log_page, audit):
        assert r.status_code == 200, r.text
        assert TOKEN not in r.text
        assert PASSWORD not in r.text
    names = [c["name"] for c in listed.json()["items"]]
    assert names == ["off", "docs", "#general"]  # newest first
    actions = {e["action"] for e in audit.json()["items"] if e["entityId"] == channel["id"]}
    assert actions == {"communication.channel.created", "communication.channel.updated"}
    assert (renamed.json()["name"], renamed.json()["categories"]) == ("#all-hands", [])

    logged = repr(structured) + "\n".join(
        f"{rec.name} {rec.getMessage()} {rec.args!r}" for rec in caplog.records
    )
    assert structured
    assert caplog.records
    assert TOKEN not in logged
    assert PASSWORD not in logged
    (stored,) = await fetch(
        database_url,
        "SELECT * FROM communication.notification_channels WHERE id = $1::uuid",
        channel["id"],
    )
    at_rest = repr(dict(stored))
    assert TOKEN not in at_rest
    assert PASSWORD not in at_rest
    assert TOKEN.encode() not in bytes(stored["url_sealed"])


async def test_a_failing_receiver_is_retried_then_recorded_failed(
    client: Client,
    database_url: str,
    events: InProcessWorker,
    receiver: Receiver,
    settings: Settings,
) -> None:
    owner, org, _ = await org_with(client, database_url)
    await add_channel(client, owner, org, name="ops", url=receiver.url())
    await chat_on(client, owner, org)

    receiver.statuses = [500]  # the first attempt fails, the retry goes through
    first = await sent(client, owner, org, channels=["chat"])
    await events.drain(within=20)
    (row,) = await deliveries(client, owner, org, notificationId=first["id"])
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert "500" in row["lastError"]
    assert len(receiver.posts) == 2

    receiver.always = 500
    second = await sent(client, owner, org, channels=["chat"])
    await events.drain(within=20)
    (row,) = await deliveries(client, owner, org, notificationId=second["id"])
    retries = fast_job_settings(settings).job_max_retries  # the events worker's
    assert (row["status"], row["attempts"]) == ("failed", retries + 1)
    assert "500" in row["lastError"]
    assert TOKEN not in row["lastError"]
    assert PASSWORD not in row["lastError"]
    broker = events.background.broker
    dead = [
        d
        for d in list_dead(broker.client, broker.namespace)
        if d.actor == "communication.send_chat"
    ]
    assert len(dead) == 1
    assert "500" in dead[0].error
    assert TOKEN not in dead[0].error
    assert PASSWORD not in dead[0].error


async def test_bad_urls_private_addresses_and_other_organisations_are_refused(
    client: Client, database_url: str, receiver: Receiver
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None), ("ada", ["admin"]))
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({"url": "nope://whatever"}, 422, "url", "unknown_channel_scheme"),
        ({"url": "no scheme at all"}, 422, "url", "invalid_channel_url"),
        ({"url": "tgram://"}, 422, "url", "invalid_channel_url"),
        ({"url": "json://169.254.169.254/latest/meta-data"}, 422, "url", "address_not_allowed"),
        ({"url": "jsons://10.1.2.3/hook"}, 422, "url", "address_not_allowed"),
        ({"url": "json://[::ffff:192.168.0.1]/hook"}, 422, "url", "address_not_allowed"),
        ({"url": receiver.url(), "categories": ["nope"]}, 422, "categories[0]", "unknown_category"),
        (
            {"url": receiver.url(), "categories": ["general", ""]},
            422,
            "categories[1]",
            "unknown_category",
        ),
        (
            {"url": receiver.url(), "quietHours": {"start": "22:00", "end": "22:00"}},
            422,
            "quietHours.end",
            "validation_failed",
        ),
        ({"url": receiver.url(), "timeZone": "Mars/Olympus"}, 422, "timeZone", "validation_failed"),
        ({"url": receiver.url(), "kind": "pigeon"}, 400, "", "validation_failed"),
    ]
    for change, status, field, code in cases:
        body = {"kind": "chat", "name": "x", **change}
        r = await client.post(channels_url(org), json=body, headers=owner.auth)
        assert (r.status_code, r.json()["code"]) == (status, code), (change, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        if field:
            assert r.json()["errors"][0]["field"] == field
        assert TOKEN not in r.text
    channel = await add_channel(client, owner, org, kind="sms", name="on call", url=receiver.url())
    mine = f"{channels_url(org)}/{channel['id']}"
    r = await client.patch(mine, json={"url": "nope://x"}, headers=owner.auth)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "url")

    # an admin manages them too; a member without communication.channels.manage: 403;
    # another organisation: 404
    r = await client.get(channels_url(org), headers=people["ada"].auth)
    assert [c["id"] for c in r.json()["items"]] == [channel["id"]]
    ann = people["ann"]
    r = await client.get(channels_url(org), headers=ann.auth)
    assert (r.status_code, r.json()["code"]) == (403, "permission_denied")
    stranger = await person(client, database_url, "stranger@example.com")
    theirs = (await create_org(client, stranger))["id"]
    for method, url in (
        ("GET", mine),
        ("PATCH", mine),
        ("DELETE", mine),
        ("GET", f"{channels_url(theirs)}/{channel['id']}"),
        ("PATCH", f"{channels_url(theirs)}/{channel['id']}"),
        ("DELETE", f"{channels_url(theirs)}/{channel['id']}"),
    ):
        kwargs: dict[str, Any] = {"json": {"name": "mine now"}} if method == "PATCH" else {}
        r = await client.request(method, url, headers=stranger.auth, **kwargs)
        assert r.status_code == 404, (method, url, r.text)
    r = await client.get(channels_url(theirs), headers=stranger.auth)
    assert r.json()["items"] == []
    r = await client.get(mine, headers=owner.auth)
    assert r.json()["name"] == "on call"
    r = await client.delete(mine, headers=owner.auth)
    assert r.status_code == 204
    r = await client.get(mine, headers=owner.auth)
    assert r.status_code == 404


async def test_quiet_hours_defer_a_post_until_they_end(
    client: Client,
    app: Litestar,
    database_url: str,
    events: InProcessWorker,
    receiver: Receiver,
    settings: Settings,
) -> None:
    owner, org, _ = await org_with(client, database_url)
    clock = MovableClock(datetime(2027, 1, 14, 22, 30, tzinfo=UTC))  # 23:30 in Berlin
    assert settings.database_url is not None
    assert settings.redis_url is not None
    kernel = Kernel(settings, settings.database_url, settings.redis_url, clock=clock)
    assemble(kernel, context_modules())
    use_clock(clock, app=app, worker=events, also=[kernel])
    night = await add_channel(
        client,
        owner,
        org,
        name="night",
        url=receiver.url(),
        quietHours={"start": "22:00", "end": "07:00"},
        timeZone="Europe/Berlin",
    )
    await chat_on(client, owner, org)
    note = await sent(client, owner, org, channels=["chat"])
    urgent = await sent(client, owner, org, channels=["chat"], priority="critical")
    await events.drain()
    (row,) = await deliveries(client, owner, org, notificationId=note["id"])
    assert (row["status"], row["reason"]) == ("deferred", "quiet hours")
    assert row["deliverAfter"].startswith("2027-01-15T06:00:00")
    (row,) = await deliveries(client, owner, org, notificationId=urgent["id"])
    assert row["status"] == "sent"  # critical ignores quiet hours, and says so
    assert row["reason"].startswith("critical:")
    assert len(receiver.posts) == 1
    rows = await fetch(
        database_url,
        "SELECT payload FROM communication.outbox WHERE event_type = $1",
        "communication.notification.preferences_bypassed",
    )
    (payload,) = [json.loads(r["payload"]) for r in rows]
    assert payload["notificationId"] == urgent["id"]
    assert (payload["bypassed"], payload["bypassedChannels"]) == ({}, {"chat": [night["id"]]})

    release: DeferredRelease = kernel.services["deferred_release"]
    try:
        clock.advance(hours=7, minutes=29)
        assert await release.release_due() == 0
        clock.advance(minutes=1)
        assert await release.release_due() == 1
        await events.drain()
        (row,) = await deliveries(client, owner, org, notificationId=note["id"])
        assert row["status"] == "sent"
        assert len(receiver.posts) == 2
    finally:
        await kernel.close()
