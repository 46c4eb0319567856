"""Web Push, end to end: a browser (a real P-256 key pair and auth secret, as
``pushManager.subscribe`` makes) registers with the hub; notifications reach a real push
service on a loopback port (an HTTP server), which must find the message encrypted for
that browser only (RFC 8291, decrypted here with the browser's key) and a VAPID token
signed by the key the hub published (RFC 8292); gone browsers are forgotten, a push
service that is down is retried without pushing twice, and bad subscriptions are refused
naming the field and changing nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from hub.communication.domain.push import b64url, b64url_decode
from hub.kernel.deadletter import list_dead
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.integration.communication.support import (
    NOTIFICATIONS,
    Client,
    deliveries,
    inbox,
    org_with,
    sent,
)
from tests.integration.communication.support_push import Browser
from tests.integration.communication.support_webhooks import Received, Receiver, receiving
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import Person, api_key
from tests.support import problem

SUBSCRIPTIONS = f"{NOTIFICATIONS}/push-subscriptions"


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    """The push service listens on 127.0.0.1, which only the allow-list lets the hub reach
    (and over plain http)."""
    return base_settings.replace(
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        rate_limit_enabled=False,
        webpush_allowed_networks=("127.0.0.1/32",),
        webpush_subject="mailto:ops@hub.example",
    )


@pytest.fixture
def push_service() -> Iterator[Receiver]:
    yield from receiving()


async def register(client: Client, who: Person, browser: Browser, **extra: Any) -> Any:
    return await client.post(SUBSCRIPTIONS, json=browser.subscription(**extra), headers=who.auth)


async def registered(client: Client, who: Person) -> list[dict[str, Any]]:
    r = await client.get(SUBSCRIPTIONS, headers=who.auth)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def push_on(client: Client, who: Person, category: str = "general") -> None:
    r = await client.put(
        f"{NOTIFICATIONS}/preferences",
        json={"channels": {category: {"push": True}}},
        headers=who.auth,
    )
    assert r.status_code == 200, r.text


def vapid(received: Received, public_key: str) -> dict[str, Any]:
    """What a push service checks: the token verifies with the key it names, which is the
    key the hub publishes."""
    scheme, _, rest = received.headers["authorization"].partition(" ")
    fields = dict(part.strip().split("=", 1) for part in rest.split(","))
    assert scheme == "vapid"
    assert fields["k"] == public_key
    verifier = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), b64url_decode(fields["k"])
    )
    claims: dict[str, Any] = jwt.decode(
        fields["t"], verifier, algorithms=["ES256"], options={"verify_aud": False}
    )
    return claims


async def test_a_notification_wakes_the_browser_encrypted_for_it_and_signed_by_the_hub(
    client: Client, database_url: str, events: InProcessWorker, push_service: Receiver
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    r = await client.get(f"{NOTIFICATIONS}/push-key", headers=ann.auth)
    assert r.status_code == 200, r.text
    public_key = r.json()["publicKey"]
    assert len(b64url_decode(public_key)) == 65
    # The same key for everyone, every time: browsers are bound to it.
    again = await client.get(f"{NOTIFICATIONS}/push-key", headers=owner.auth)
    assert again.json()["publicKey"] == public_key

    browser = Browser(f"{push_service.url}/ann-laptop?token=s3cret-capability")
    r = await register(client, ann, browser, label="Firefox on the laptop")
    assert r.status_code == 201, r.text
    shown = r.json()
    assert (shown["host"], shown["label"], shown["lastSuccessAt"]) == (
        "127.0.0.1",
        "Firefox on the laptop",
        None,
    )
    assert "endpoint" not in shown
    assert "keys" not in shown
    # At rest, neither the endpoint nor the keys are in clear.
    (row,) = await fetch(database_url, "SELECT * FROM communication.push_subscriptions")
    stored = bytes(row["sealed"])
    assert b"s3cret-capability" not in stored
    assert browser.auth not in stored
    assert b64url(browser.auth).encode() not in stored

    # Announcements do not push unless the person asked for it: no push, a skipped row.
    quiet = await sent(client, owner, org)
    await events.drain()
    assert push_service.received == []
    rows = await deliveries(client, owner, org, notificationId=quiet["id"], channel="push")
    assert [(r["userId"], r["status"], r["reason"]) for r in rows] == [
        (ann.user_id, "skipped", "turned off in preferences")
    ]

    await push_on(client, ann)
    loud = await sent(client, owner, org, payload={"title": "Fire drill", "text": "At noon"})
    await events.drain()
    (message,) = push_service.received
    assert message.path == "/hooks/ann-laptop?token=s3cret-capability"
    assert message.headers["content-encoding"] == "aes128gcm"
    assert (message.headers["ttl"], message.headers["urgency"]) == ("86400", "normal")
    assert b"Fire drill" not in message.body
    (item,) = [i for i in await inbox(client, ann) if i["notificationId"] == loud["id"]]
    assert browser.read(message) == {
        "notificationId": loud["id"],
        "inboxItemId": item["id"],
        "organisationId": org,
        "category": "general",
        "priority": "normal",
        "title": "Fire drill",
        "body": "At noon",
        "actionUrl": None,
    }
    claims = vapid(message, public_key)
    assert claims["aud"] == f"http://127.0.0.1:{push_service.port}"
    assert claims["sub"] == "mailto:ops@hub.example"
    assert 0 < claims["exp"] - int(row["created_at"].timestamp()) <= 24 * 3600 + 600
    # Another browser's key cannot read it.
    with pytest.raises(http_ece.ECEException):
        Browser(browser.endpoint).read(message)

    (row_log,) = await deliveries(client, owner, org, notificationId=loud["id"], channel="push")
    assert (row_log["userId"], row_log["status"], row_log["provider"]) == (
        ann.user_id,
        "sent",
        "webpush",
    )
    assert [(a["provider"], a["outcome"]) for a in row_log["providerAttempts"]] == [
        ("webpush:127.0.0.1", "sent")
    ]
    # The owner registered no browser: no push row at all for them.
    everyone = await deliveries(client, owner, org, notificationId=loud["id"])
    assert {r["channel"] for r in everyone if r["userId"] == owner.user_id} == {"in_app", "email"}
    (mine,) = await registered(client, ann)
    assert mine["lastSuccessAt"] is not None

    # Critical goes through (urgently) even where the person turned push off.
    await client.put(
        f"{NOTIFICATIONS}/preferences",
        json={"channels": {"general": {"push": False}}},
        headers=ann.auth,
    )
    await sent(client, owner, org, priority="critical", recipients={"userIds": [ann.user_id]})
    await events.drain()
    assert len(push_service.received) == 2
    assert push_service.received[1].headers["urgency"] == "high"


async def test_a_gone_browser_is_forgotten_and_a_down_push_service_retried_without_repeats(
    client: Client,
    database_url: str,
    events: InProcessWorker,
    push_service: Receiver,
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    await push_on(client, ann)
    laptop, phone = Browser(f"{push_service.url}/laptop"), Browser(f"{push_service.url}/phone")
    for browser in (laptop, phone):
        assert (await register(client, ann, browser)).status_code == 201

    # The phone (registered last, tried first) is down once; the retry pushes to the
    # phone only: the laptop got it the first time.
    push_service.plan = [(503, {}), (201, {})]
    first = await sent(client, owner, org, recipients={"userIds": [ann.user_id]})
    await events.drain(within=20)
    assert [r.path for r in push_service.received] == [
        "/hooks/phone",
        "/hooks/laptop",
        "/hooks/phone",
    ]
    (row,) = await deliveries(client, owner, org, notificationId=first["id"], channel="push")
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert [a["outcome"] for a in row["providerAttempts"]] == ["down", "sent", "sent"]
    assert row["lastError"].startswith("503")
    assert all(phone.read(r)["notificationId"] == first["id"] for r in push_service.received[::2])

    # The phone's push service says the subscription is gone: it is forgotten, the
    # laptop still gets the message.
    push_service.received.clear()
    push_service.plan = [(410, {}), (201, {})]
    second = await sent(client, owner, org, recipients={"userIds": [ann.user_id]})
    await events.drain(within=20)
    assert [r.path for r in push_service.received] == ["/hooks/phone", "/hooks/laptop"]
    assert [b["host"] for b in await registered(client, ann)] == ["127.0.0.1"]
    (row,) = await deliveries(client, owner, org, notificationId=second["id"], channel="push")
    assert row["status"] == "sent"
    assert [a["outcome"] for a in row["providerAttempts"]] == ["gone", "sent"]

    # The last browser gone too: the delivery failed, nothing to retry or dead-letter.
    push_service.received.clear()
    push_service.always = 404
    third = await sent(client, owner, org, recipients={"userIds": [ann.user_id]})
    await events.drain(within=20)
    assert len(push_service.received) == 1
    (row,) = await deliveries(client, owner, org, notificationId=third["id"], channel="push")
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert row["lastError"].startswith("404: receiver says no")  # what the service said
    assert len(row["lastError"]) <= 300
    assert await registered(client, ann) == []
    broker = events.background.broker
    assert [
        d
        for d in list_dead(broker.client, broker.namespace)
        if d.actor == "communication.send_push"
    ] == []
    # No browser left: the next notification writes no push row.
    fourth = await sent(client, owner, org, recipients={"userIds": [ann.user_id]})
    await events.drain()
    assert await deliveries(client, owner, org, notificationId=fourth["id"], channel="push") == []


async def test_registering_again_refreshes_a_browser_moves_it_and_keeps_twenty(
    client: Client, database_url: str
) -> None:
    _, _, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    shared = Browser("https://push.example.com/shared-computer")
    first = await register(client, ann, shared, label="Front desk")
    assert first.status_code == 201, first.text
    # The frontend registers at every start: the same row, refreshed.
    again = await register(client, ann, shared)
    assert (again.status_code, again.json()["id"], again.json()["label"]) == (
        200,
        first.json()["id"],
        None,
    )
    # Bob signs in on the same computer: the browser is his now, Ann's phone no more.
    moved = await register(client, bob, shared, label="Front desk")
    assert (moved.status_code, moved.json()["id"]) == (200, first.json()["id"])
    assert await registered(client, ann) == []
    assert [b["id"] for b in await registered(client, bob)] == [first.json()["id"]]
    # Someone else's browser is 404, like an unknown one; one's own goes.
    r = await client.delete(f"{SUBSCRIPTIONS}/{first.json()['id']}", headers=ann.auth)
    assert (r.status_code, problem(r)["code"]) == (404, "not_found")
    r = await client.delete(f"{SUBSCRIPTIONS}/{uuid.uuid4()}", headers=bob.auth)
    assert (r.status_code, problem(r)["code"]) == (404, "not_found")
    r = await client.delete(f"{SUBSCRIPTIONS}/{first.json()['id']}", headers=bob.auth)
    assert r.status_code == 204
    assert await registered(client, bob) == []

    # Twenty browsers at most: the twenty-first forgets the least recently used.
    made = []
    for i in range(21):
        r = await register(client, ann, Browser(f"https://push.example.com/device-{i}"))
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    kept = [b["id"] for b in await registered(client, ann)]
    assert kept == made[:0:-1]


async def test_bad_subscriptions_are_refused_naming_the_field_and_change_nothing(
    client: Client, database_url: str
) -> None:
    owner, org, _ = await org_with(client, database_url)
    good = Browser("https://push.example.com/x").subscription()
    not_a_point = b64url(b"\x04" + bytes(64))
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        (
            {**good, "endpoint": "http://push.example.com/x"},
            422,
            "endpoint",
            "endpoint_not_allowed",
        ),
        ({**good, "endpoint": "https://10.0.0.7/x"}, 422, "endpoint", "endpoint_not_allowed"),
        ({**good, "endpoint": "https://localhost/x"}, 422, "endpoint", "endpoint_not_allowed"),
        (
            {**good, "endpoint": "https://169.254.169.254/x"},
            422,
            "endpoint",
            "endpoint_not_allowed",
        ),
        ({**good, "endpoint": "ftp://push.example.com/x"}, 422, "endpoint", "endpoint_not_allowed"),
        (
            {**good, "endpoint": "https://u:p@push.example.com/x"},
            422,
            "endpoint",
            "endpoint_not_allowed",
        ),
        (
            {**good, "keys": {**good["keys"], "p256dh": not_a_point}},
            422,
            "keys.p256dh",
            "validation_failed",
        ),
        (
            {**good, "keys": {**good["keys"], "p256dh": "a+b/c"}},
            422,
            "keys.p256dh",
            "validation_failed",
        ),
        (
            {**good, "keys": {**good["keys"], "auth": b64url(b"short")}},
            422,
            "keys.auth",
            "validation_failed",
        ),
        ({**good, "keys": {**good["keys"], "auth": "!!"}}, 422, "keys.auth", "validation_failed"),
        ({**good, "keys": {"auth": good["keys"]["auth"]}}, 400, "", "validation_failed"),
        (
            {**good, "endpoint": "https://push.example.com/" + "x" * 2100},
            400,
            "",
            "validation_failed",
        ),
        ({**good, "label": ""}, 400, "", "validation_failed"),
    ]
    for body, status, field, code in cases:
        r = await client.post(SUBSCRIPTIONS, json=body, headers=owner.auth)
        assert (r.status_code, problem(r)["code"]) == (status, code), (body, r.text)
        if field:
            assert [e["field"] for e in r.json()["errors"]] == [field], r.text
    # An API key is a machine, not a browser's person.
    key = await api_key(client, owner, ["content.documents.read"], org)
    r = await client.post(SUBSCRIPTIONS, json=good, headers={"X-API-Key": key["key"]})
    assert (r.status_code, problem(r)["code"]) == (403, "session_required")
    assert await fetch(database_url, "SELECT id FROM communication.push_subscriptions") == []
    assert (await client.get(SUBSCRIPTIONS)).status_code == 401


async def test_a_test_message_says_what_the_push_service_answered(
    client: Client, database_url: str, push_service: Receiver
) -> None:
    _, _, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    browser = Browser(f"{push_service.url}/ann")
    mine = (await register(client, ann, browser)).json()
    r = await client.post(f"{SUBSCRIPTIONS}/{mine['id']}/test", headers=ann.auth)
    assert (r.status_code, r.json()) == (200, {"outcome": "sent", "error": None})
    (received,) = push_service.received
    shown = browser.read(received)
    assert (shown["category"], shown["notificationId"], shown["title"]) == ("test", None, "Hub")
    assert (await registered(client, ann))[0]["lastSuccessAt"] is not None
    # Someone else's browser is 404 and gets nothing.
    r = await client.post(f"{SUBSCRIPTIONS}/{mine['id']}/test", headers=bob.auth)
    assert (r.status_code, problem(r)["code"]) == (404, "not_found")
    assert len(push_service.received) == 1
    # The push service refuses the sender (a subscription made with another key), then
    # says the subscription is gone: it is forgotten.
    push_service.plan = [(403, {}), (410, {})]
    r = await client.post(f"{SUBSCRIPTIONS}/{mine['id']}/test", headers=ann.auth)
    assert (r.json()["outcome"], r.json()["error"][:3]) == ("rejected", "403")
    r = await client.post(f"{SUBSCRIPTIONS}/{mine['id']}/test", headers=ann.auth)
    assert r.json()["outcome"] == "gone"
    assert await registered(client, ann) == []


async def test_each_browser_may_choose_the_categories_that_wake_it(
    client: Client, database_url: str, events: InProcessWorker, push_service: Receiver
) -> None:
    """A phone set to ``security`` only stays quiet about announcements the laptop still
    gets; set back to null it gets everything again. Someone else's browser: 404."""
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    laptop = (await register(client, ann, Browser(f"{push_service.url}/laptop"))).json()
    phone = (await register(client, ann, Browser(f"{push_service.url}/phone"))).json()
    assert phone["categories"] is None
    await push_on(client, ann)
    url = f"{SUBSCRIPTIONS}/{phone['id']}"
    r = await client.patch(
        url, json={"categories": ["security", "security", "consultation-alerts"]}, headers=ann.auth
    )
    assert r.status_code == 200, r.text
    assert (r.json()["categories"], r.json()["label"]) == (
        ["security", "consultation-alerts"],
        None,
    )
    await sent(client, owner, org, recipients={"userIds": [ann.user_id]})
    await events.drain()
    assert [m.path for m in push_service.received] == ["/hooks/laptop"]

    r = await client.patch(url, json={"categories": None, "label": "Phone"}, headers=ann.auth)
    assert (r.json()["categories"], r.json()["label"]) == (None, "Phone")
    await sent(client, owner, org, recipients={"userIds": [ann.user_id]})
    await events.drain()
    assert sorted(m.path for m in push_service.received[1:]) == ["/hooks/laptop", "/hooks/phone"]
    # A laptop woken for nothing it receives: no push row at all for that person.
    for browser in (laptop, phone):
        r = await client.patch(
            f"{SUBSCRIPTIONS}/{browser['id']}", json={"categories": []}, headers=ann.auth
        )
        assert r.json()["categories"] == []
    quiet = await sent(client, owner, org, recipients={"userIds": [ann.user_id]})
    await events.drain()
    assert len(push_service.received) == 3
    assert await deliveries(client, owner, org, notificationId=quiet["id"], channel="push") == []

    for body, status in (
        ({"categories": ["Not A Key"]}, 400),
        ({"categories": ["x"] * 51}, 400),
        ({"label": ""}, 400),
    ):
        r = await client.patch(url, json=body, headers=ann.auth)
        assert r.status_code == status, (body, r.text)
    r = await client.patch(url, json={"label": "Mine now"}, headers=bob.auth)
    assert (r.status_code, problem(r)["code"]) == (404, "not_found")
    (row,) = await fetch(
        database_url,
        "SELECT label FROM communication.push_subscriptions WHERE id = $1",
        uuid.UUID(phone["id"]),
    )
    assert row["label"] == "Phone"
