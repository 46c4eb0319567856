"""Sending through HTTP, fanned out by a real worker: recipients by user, role, permission
and everyone; the preference matrix (organisation default x user override x critical);
idempotency; the permission rule; bad input."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx

from hub.worker import InProcessWorker
from tests.integration.communication.support import (
    NOTIFICATIONS,
    Client,
    deliveries,
    inbox,
    org_with,
    send,
    sent,
    statuses,
    unread,
)
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import join, roles_by_name


async def _role(client: Client, owner: Any, org: str, name: str, permissions: list[str]) -> str:
    r = await client.post(
        f"{API}/orgs/{org}/roles",
        json={"name": name, "permissions": permissions},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_recipients_by_user_role_permission_and_everyone(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner, org, _ = await org_with(client, database_url)
    editors = await _role(client, owner, org, "Editors", ["content.documents.write"])
    ann = await join(client, database_url, org, owner, "ann@example.com", ["Editors"])
    bob = await join(client, database_url, org, owner, "bob@example.com", None)
    await join(client, database_url, org, owner, "cy@example.com", None)

    r = await sent(client, owner, org, recipients={"userIds": [bob.user_id, str(uuid.uuid4())]})
    assert r["recipientCount"] == 1  # an id that is no member is dropped
    r = await sent(client, owner, org, recipients={"roleIds": [editors]})
    assert r["recipientCount"] == 1
    r = await sent(client, owner, org, recipients={"permission": "content.documents.write"})
    assert r["recipientCount"] == 2  # the owner and ann
    r = await sent(client, owner, org, recipients={"everyone": True})
    assert r["recipientCount"] == 4
    await events.drain()

    assert [i["title"] for i in await inbox(client, bob)] == ["Hello", "Hello"]
    assert len(await inbox(client, ann)) == 3
    assert await unread(client, ann) == 3
    item = (await inbox(client, bob))[0]
    assert set(item) >= {
        "id",
        "category",
        "title",
        "body",
        "actionUrl",
        "createdAt",
        "readAt",
        "archivedAt",
    }
    assert (item["category"], item["body"], item["readAt"]) == ("general", "World", None)
    # in-app "sent" and e-mail "sent" (dev mailbox) for everyone of the last one
    rows = await deliveries(client, owner, org, notificationId=r["id"])
    assert {row["status"] for row in rows} == {"sent"}
    assert {row["channel"] for row in rows} == {"in_app", "email"}
    assert {row["provider"] for row in rows} == {"inbox", "mailbox"}

    # an unknown role is named; a role of another organisation is unknown
    r = await send(client, owner, org, recipients={"roleIds": [str(uuid.uuid4())]})
    assert (r.status_code, r.json()["code"]) == (422, "unknown_role")
    assert r.json()["errors"][0]["field"] == "recipients.roleIds[0]"


async def test_preference_matrix_org_default_user_override_and_critical(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    # organisation: no e-mail for "general"; bob overrides it back on; ann turns in-app off
    r = await client.put(
        f"{NOTIFICATIONS}/defaults",
        params={"organisationId": org},
        json={"channels": {"general": {"email": False}}, "defaultLocale": "en"},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    r = await client.put(
        f"{NOTIFICATIONS}/preferences",
        json={"channels": {"general": {"email": True}}},
        headers=bob.auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["channels"] == {"general": {"email": True}}
    r = await client.put(
        f"{NOTIFICATIONS}/preferences",
        json={"channels": {"general": {"in_app": False}}},
        headers=ann.auth,
    )
    assert r.status_code == 200, r.text

    normal = await sent(client, owner, org, recipients={"userIds": [ann.user_id, bob.user_id]})
    critical = await sent(
        client, owner, org, recipients={"userIds": [ann.user_id, bob.user_id]}, priority="critical"
    )
    await events.drain()
    got = statuses(await deliveries(client, owner, org, notificationId=normal["id"]))
    assert got == {
        (ann.user_id, "in_app"): "skipped",  # her own override
        (ann.user_id, "email"): "skipped",  # the organisation's default
        (bob.user_id, "in_app"): "sent",  # the platform's default
        (bob.user_id, "email"): "sent",  # his override beats the organisation's
    }
    got = statuses(await deliveries(client, owner, org, notificationId=critical["id"]))
    assert set(got.values()) == {"sent"}  # critical bypasses both
    rows = await fetch(
        database_url,
        "SELECT payload FROM communication.outbox WHERE event_type = $1",
        "communication.notification.preferences_bypassed",
    )
    (payload,) = [json.loads(r["payload"]) for r in rows]
    assert payload["notificationId"] == critical["id"]
    assert payload["bypassed"] == {"in_app": [ann.user_id], "email": [ann.user_id]}
    assert [i["priority"] for i in await inbox(client, ann)] == ["critical"]
    skipped = await deliveries(client, owner, org, status="skipped")
    assert {row["reason"] for row in skipped} == {"turned off in preferences"}


async def test_idempotency_key_same_id_and_concurrent_duplicate_409(
    live_client: httpx.AsyncClient, database_url: str, events: InProcessWorker
) -> None:
    client = live_client  # a real server: the test client serves one request at a time
    owner, org, _ = await org_with(client, database_url, ("ann", None))
    key = {"Idempotency-Key": "send-1"}
    first = await send(client, owner, org, headers=key)
    again = await send(client, owner, org, headers=key)
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await send(client, owner, org, headers=key, payload={"title": "x", "text": "y"})
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")

    results = await asyncio.gather(
        *(send(client, owner, org, headers={"Idempotency-Key": "burst"}) for _ in range(6))
    )
    codes = sorted(r.status_code for r in results)
    assert codes.count(202) >= 1
    assert set(codes) <= {202, 409}
    ids = {r.json()["id"] for r in results if r.status_code == 202}
    assert len(ids) == 1
    conflicts = [r.json()["code"] for r in results if r.status_code == 409]
    assert set(conflicts) <= {"idempotency_key_in_progress"}
    rows = await fetch(database_url, "SELECT count(*) AS n FROM communication.notifications")
    assert rows[0]["n"] == 2
    await events.drain()


async def test_permission_rule_and_bad_input(client: Client, database_url: str) -> None:
    owner, org, people = await org_with(client, database_url, ("member", None))
    member = people["member"]
    r = await send(client, member, org)
    assert (r.status_code, r.json()["extra"]["permission"]) == (
        403,
        "communication.notifications.send",
    )
    # who received what is not every member's business: the delivery log is an audit read
    r = await client.get(
        f"{API}/notifications/deliveries", params={"organisationId": org}, headers=member.auth
    )
    assert (r.status_code, r.json()["extra"]["permission"]) == (
        403,
        "communication.audit.deliveries",
    )
    outsider_org = (
        await client.post(f"{API}/orgs", json={"name": "X"}, headers=member.auth)
    ).json()["id"]
    r = await send(client, owner, outsider_org)
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    roles = await roles_by_name(client, org, owner)
    assert "member" in {name.lower() for name in roles}

    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"templateKey": "no.such"}, 422, "unknown_template"),
        ({"payload": {"title": "only"}}, 422, "payload_incomplete"),
        ({"recipients": {}}, 422, "no_recipients"),
        ({"category": "nope"}, 422, "unknown_category"),
        ({"channels": ["pigeon"]}, 400, "validation_failed"),
        ({"priority": "urgent"}, 400, "validation_failed"),
        ({"templateKey": "Bad Key"}, 400, "validation_failed"),
    ]
    for change, status, code in cases:
        fields = dict(change)
        payload = fields.pop("payload", None)
        r = await send(client, owner, org, payload=payload, **fields)
        assert (r.status_code, r.json().get("code")) == (status, code), (change, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await send(
        client, owner, org, payload={"title": "x", "text": "y"}, template="security.alert"
    )
    assert r.json()["errors"][0]["field"] in {"payload.summary", "payload.detail"}
    rows = await fetch(database_url, "SELECT count(*) AS n FROM communication.notifications")
    assert rows[0]["n"] == 0


async def test_inbox_of_another_user_is_404(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None))
    await sent(client, owner, org, recipients={"userIds": [people["ann"].user_id]})
    await events.drain()
    (item,) = await inbox(client, people["ann"])
    r = await client.post(f"{NOTIFICATIONS}/{item['id']}/read", headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    assert await unread(client, people["ann"]) == 1
