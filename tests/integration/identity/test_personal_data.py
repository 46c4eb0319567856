"""A person's data across every context: the export archive (GDPR Articles 15 and 20)
and the erasure of the account (Article 17), end to end through HTTP with the real relay
and subscriptions, checked by scanning every table of every schema."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import context_modules
from hub.content.domain.audit import PLATFORM_CHAIN
from hub.content.services.audit import AuditLog
from hub.kernel.runtime import Kernel
from hub.kernel.wiring import assemble
from hub.worker import InProcessWorker
from tests.integration.communication.support import sent
from tests.integration.communication.support_conversations import conversation, messages, say
from tests.integration.content.support import DOCS, pdf, uploaded
from tests.integration.identity.support import API, bearer, fetch, plain_dsn
from tests.integration.identity.support_orgs import Person, api_key, create_org, join, person
from tests.integration.identity.support_tokens import with_claims
from tests.support import problem
from tests.support.schema_scan import rows_referencing

Client = AsyncTestClient[Litestar]
ME = f"{API}/auth/me"
TASKS = f"{API}/tasks"
#: A browser's public key (a P-256 point) for a push subscription.
BROWSER_KEY = (
    "BF5uv6DRZjFJz3Q978whT46zop4FtGFZ8Shdz-8bmx6MiDcbAUhbWYq37TMAPtwUdVjHn8KktmihJHFRPZs5Nuw"
)

#: One state with a task for admins: whoever claims it is its assignee.
REVIEW = {
    "states": [
        {
            "name": "review",
            "initial": True,
            "onEnter": [
                {
                    "kind": "createTask",
                    "name": "Review the request",
                    "roles": ["admin"],
                    "outcomes": {"done": {"transition": "finish"}},
                }
            ],
        },
        {"name": "done", "final": True},
    ],
    "transitions": [{"name": "finish", "from": "review", "to": "done", "roles": ["admin"]}],
}


async def superuser(database_url: str, *statements: str, args: Any = ()) -> None:
    """Statements run by a superuser skipping triggers (a tamperer); the last takes args."""
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        await conn.execute("SET session_replication_role = replica")
        for statement in statements[:-1]:
            await conn.execute(statement)
        await conn.execute(statements[-1], *args)
    finally:
        await conn.close()


def audit_log(kernel: Kernel) -> AuditLog:
    """The audit trail's service on the test's own event loop."""
    assemble(kernel, context_modules())
    log: AuditLog = kernel.services["audit_log"]
    return log


async def active_everywhere(
    client: Client, database_url: str, events: InProcessWorker
) -> tuple[Person, Person, str, dict[str, Any]]:
    """Alice owns an organisation; Bob, an admin of it, has uploaded documents, written a
    note, received and sent notifications, talked to Alice, started a workflow and holds
    its task; all delivered (audit trail included)."""
    alice = await person(client, database_url, "alice@example.com")
    org = (await create_org(client, alice))["id"]
    bob = await join(client, database_url, org, alice, "bob@example.com", ["admin"])
    alices_doc = await uploaded(client, alice, org, pdf(b"alice" * 20), title="Alice's")
    docs = [
        await uploaded(client, bob, org, pdf(bytes([i]) * 60), title=f"Bob {i}") for i in range(2)
    ]
    r = await client.post(
        f"{DOCS}/{docs[0]['id']}/notes", json={"text": "Filed by Bob."}, headers=bob.auth
    )
    assert r.status_code == 201, r.text
    await sent(client, alice, org)  # to everyone: Bob's inbox
    await sent(client, bob, org, payload={"title": "From Bob", "text": "bob@example.com"})
    chat = await conversation(client, bob, org, alice)
    await say(client, bob, chat["id"], "Hello from Bob")
    hello = await say(client, alice, chat["id"], "Hello Bob")
    r = await client.put(
        f"{API}/conversations/{chat['id']}/messages/{hello['id']}/reactions/wave",
        headers=bob.auth,
    )
    assert r.status_code == 200, r.text
    # Bob pins Alice's message, mutes the conversation and schedules a notification.
    r = await client.put(
        f"{API}/conversations/{chat['id']}/messages/{hello['id']}/pin", headers=bob.auth
    )
    assert r.status_code == 200, r.text
    r = await client.put(f"{API}/conversations/{chat['id']}/mute", json={}, headers=bob.auth)
    assert r.status_code == 200, r.text
    # Bob keeps a view of his own documents and shares another with the organisation.
    for name, shared in (("Mine", False), ("Team inbox", True)):
        r = await client.post(
            f"{API}/orgs/{org}/saved-views",
            json={"name": name, "shared": shared, "filters": {"ownerId": bob.user_id}},
            headers=bob.auth,
        )
        assert r.status_code == 201, r.text
    # Bob joins a topic and subscribes Alice to it.
    r = await client.post(
        f"{API}/orgs/{org}/topics", json={"key": "night-shift", "name": "Night"}, headers=bob.auth
    )
    assert r.status_code == 201, r.text
    for who in ("me", alice.user_id):
        r = await client.put(
            f"{API}/orgs/{org}/topics/night-shift/subscribers/{who}", headers=bob.auth
        )
        assert r.status_code == 200, r.text
    # Bob's browser may be woken by notifications.
    r = await client.post(
        f"{API}/notifications/push-subscriptions",
        json={
            "endpoint": "https://push.example.com/bobs-browser",
            "keys": {"p256dh": BROWSER_KEY, "auth": "AAAAAAAAAAAAAAAAAAAAAA"},
            "label": "Bob's laptop",
        },
        headers=bob.auth,
    )
    assert r.status_code == 201, r.text
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    await sent(client, bob, org, sendAt=later, payload={"title": "Later", "text": "From Bob"})
    r = await client.post(
        f"{API}/workflows",
        json={"organisationId": org, "key": "review", "definition": REVIEW},
        headers=alice.auth,
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"{API}/workflow-instances",
        json={
            "organisationId": org,
            "workflowKey": "review",
            "subject": {"reference": "REQ-1"},
            "variables": {"requester": bob.user_id, "contact": "Bob@Example.com"},
        },
        headers=bob.auth,
    )
    assert r.status_code == 201, r.text
    r = await client.get(TASKS, params={"organisationId": org}, headers=bob.auth)
    (task,) = r.json()["items"]
    r = await client.post(f"{TASKS}/{task['id']}/claim", headers=bob.auth)
    assert r.status_code == 200, r.text
    await events.drain()
    return (
        alice,
        bob,
        org,
        {"docs": docs, "alices_doc": alices_doc, "chat": chat, "task": task, "hello": hello},
    )


async def test_the_export_holds_the_callers_data_from_every_context_and_no_one_elses(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    _, bob, org, made = await active_everywhere(client, database_url, events)
    r = await client.get(f"{ME}/export", headers=bob.auth)
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"].startswith("attachment")
    archive = r.json()
    assert archive["format"] == "hub.personal-data/1"
    assert archive["userId"] == bob.user_id
    parts = archive["contexts"]
    assert set(parts) == {"identity", "content", "communication", "workflow"}
    assert parts["identity"]["account"]["email"] == "bob@example.com"
    assert [m["organisation_id"] for m in parts["identity"]["memberships"]] == [org]
    assert [r.lower() for r in parts["identity"]["memberships"][0]["roles"]] == ["admin"]
    assert parts["identity"]["sessions"]
    owned = {d["id"] for d in parts["content"]["documentsOwned"]}
    assert owned == {d["id"] for d in made["docs"]}
    assert [n["body"] for n in parts["content"]["notes"]] == ["Filed by Bob."]
    assert [v["name"] for v in parts["content"]["savedViews"]] == ["Mine", "Team inbox"]
    assert parts["content"]["auditEntries"]
    assert all(e["action"] for e in parts["content"]["auditEntries"])
    communication = parts["communication"]
    assert [m["body"] for m in communication["messagesSent"]] == ["Hello from Bob"]
    assert len(communication["inbox"]) >= 1
    assert [(n["payload"]["title"], n["state"]) for n in communication["notificationsSent"]] == [
        ("From Bob", "sent"),
        ("Later", "scheduled"),
    ]
    assert [p["message_id"] for p in communication["pins"]] == [made["hello"]["id"]]
    assert [t["key"] for t in communication["topics"]] == ["night-shift"]
    (browser,) = communication["pushSubscriptions"]
    assert (browser["host"], browser["label"]) == ("push.example.com", "Bob's laptop")
    assert "bobs-browser" not in str(communication)  # the endpoint is not Bob's data
    assert communication["conversations"][0]["muted_until"] is not None
    assert [c["id"] for c in communication["conversations"]] == [made["chat"]["id"]]
    assert [r["name"] for r in communication["reactions"]] == ["wave"]
    workflow = parts["workflow"]
    assert [t["id"] for t in workflow["tasksAssigned"]] == [made["task"]["id"]]
    assert len(workflow["instancesStarted"]) == 1
    # Nothing of Alice's: not her address, her document, her message or her secrets.
    text = json.dumps(archive)
    assert "alice@example.com" not in text
    assert made["alices_doc"]["id"] not in text
    assert "Hello Bob" not in text
    assert "$argon2" not in text  # the password hash
    for secret in ("password_hash", "secret_hash", "token_hash", "public_key", "secret_sealed"):
        assert secret not in text


async def test_the_export_is_for_a_person_signed_in(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    bob = await person(client, database_url, "bob@example.com")
    key = await api_key(client, bob, ["content.documents.read"])
    r = await client.get(f"{ME}/export", headers={"X-API-Key": key["key"]})
    assert r.status_code == 403
    assert problem(r)["code"] == "session_required"
    r = await client.delete(ME, headers={"X-API-Key": key["key"]})
    assert r.status_code == 403
    assert problem(r)["code"] == "session_required"
    r = await client.get(f"{ME}/export")
    assert r.status_code == 401


async def test_erasure_needs_a_recent_sign_in_and_no_sole_ownership(
    client: Client, app: Litestar, database_url: str, events: InProcessWorker
) -> None:
    alice = await person(client, database_url, "alice@example.com")
    org = (await create_org(client, alice))["id"]
    stale = bearer(await with_claims(app, alice.token, auth_time=int(time.time()) - 3600))
    r = await client.delete(ME, headers=stale)
    assert r.status_code == 403
    assert problem(r)["code"] == "reauthentication_required"
    r = await client.delete(ME, headers=alice.auth)
    assert r.status_code == 409
    body = problem(r)
    assert body["code"] == "sole_owner"
    assert body["extra"]["organisationIds"] == [org]
    # Nothing happened: still signed in, still the owner.
    assert (await client.get(ME, headers=alice.auth)).status_code == 200
    await events.drain()
    assert not await fetch(
        database_url, "SELECT 1 FROM identity.outbox WHERE event_type = 'identity.user_erased'"
    )
    # With a second owner she may go; the organisation stays with them.
    carol = await join(client, database_url, org, alice, "carol@example.com", ["owner"])
    r = await client.delete(ME, headers=alice.auth)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "erased"
    r = await client.get(f"{API}/orgs/{org}/members", headers=carol.auth)
    assert [m["userId"] for m in r.json()["items"]] == [carol.user_id]


async def test_erasure_leaves_no_row_of_the_person_and_the_audit_trail_verifies(
    client: Client, kernel: Kernel, database_url: str, events: InProcessWorker
) -> None:
    alice, bob, org, made = await active_everywhere(client, database_url, events)
    before = await rows_referencing(database_url, [uuid.UUID(bob.user_id), bob.email])
    for table in (
        "identity.users",
        "content.documents",
        "content.audit_entries",
        "content.saved_views",
        "communication.topic_subscriptions",
        "communication.push_subscriptions",
        "communication.messages",
        "communication.message_reactions",
        "communication.inbox_items",
        "workflow.tasks",
        "workflow.instances",
    ):
        assert before.get(table), (table, before)
    r = await client.post(
        f"{API}/audit/checkpoints", params={"organisationId": org}, headers=alice.auth
    )
    assert r.status_code == 201, r.text
    log = audit_log(kernel)
    await log.checkpoint(PLATFORM_CHAIN)

    r = await client.delete(ME, headers=bob.auth)
    assert r.status_code == 202, r.text
    await events.drain()

    # Not one row, in any table of any schema, names Bob's id or address.
    assert await rows_referencing(database_url, [uuid.UUID(bob.user_id), bob.email]) == {}
    # His session is over.
    assert (await client.get(ME, headers=bob.auth)).status_code == 401
    # His documents are Alice's now, the organisation's owner.
    owners = await fetch(
        database_url,
        "SELECT DISTINCT owner_id FROM content.documents WHERE id = ANY($1::uuid[])",
        [uuid.UUID(d["id"]) for d in made["docs"]],
    )
    assert [str(o["owner_id"]) for o in owners] == [alice.user_id]
    r = await client.get(f"{DOCS}/{made['docs'][0]['id']}", headers=alice.auth)
    assert r.status_code == 200
    # His message is a tombstone by a user no account has; Alice's reply is intact.
    page = await messages(client, alice, made["chat"]["id"])
    by_body = {m["body"]: m for m in page["items"]}
    assert "Hello from Bob" not in by_body
    assert "Hello Bob" in by_body
    (tombstone,) = [m for m in page["items"] if m["senderId"] != alice.user_id]
    assert tombstone["body"] == ""
    assert tombstone["deletedAt"] is not None
    pseudonym = tombstone["senderId"]
    # His personal view is gone; the shared one stays the organisation's, by nobody, and
    # its condition on him names the pseudonym.
    r = await client.get(f"{API}/orgs/{org}/saved-views", headers=alice.auth)
    views = [(v["name"], v["ownerId"], v["filters"]["ownerId"]) for v in r.json()["items"]]
    assert views == [("Team inbox", None, pseudonym)]
    # The task is open again, for the admins.
    (task,) = await fetch(
        database_url,
        "SELECT state, assignee_id FROM workflow.tasks WHERE id = $1::uuid",
        made["task"]["id"],
    )
    assert (task["state"], task["assignee_id"]) == ("open", None)
    # The audit trail: entries kept, Bob replaced by the same pseudonym, chains verify.
    r = await client.get(f"{API}/audit/verify", params={"organisationId": org}, headers=alice.auth)
    assert r.json()["ok"] is True, r.json()
    assert r.json()["checkpoints"] == 1
    assert (await log.verify(PLATFORM_CHAIN)).ok
    r = await client.get(
        f"{API}/audit", params={"organisationId": org, "actorId": pseudonym}, headers=alice.auth
    )
    assert {e["action"] for e in r.json()["items"]} >= {
        "content.document.uploaded",
        "workflow.instance.started",
    }
    rewrites = await fetch(database_url, "SELECT * FROM content.audit_rewrites")
    assert {r["reason"] for r in rewrites} == {"erasure"}
    assert {r["chain_id"] for r in rewrites} >= {uuid.UUID(org), PLATFORM_CHAIN}

    # Tampering is still found: an entry edited after the erasure...
    chain = uuid.UUID(org)
    await superuser(
        database_url,
        "UPDATE content.audit_entries SET summary = '{}'::jsonb WHERE chain_id = $1 AND seq = 2",
        args=(chain,),
    )
    verdict = await log.verify(chain)
    assert (verdict.ok, verdict.reason) == (False, "entry_altered")
    # ...and a rewrite record no key signed.
    await superuser(database_url, "UPDATE content.audit_rewrites SET signature = repeat('0', 64)")
    verdict = await log.verify(PLATFORM_CHAIN)
    assert (verdict.ok, verdict.reason) == (False, "rewrite_signature_invalid")


async def test_an_organisation_may_send_a_departed_owners_documents_to_the_trash(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    alice = await person(client, database_url, "alice@example.com")
    org = (await create_org(client, alice))["id"]
    bob = await join(client, database_url, org, alice, "bob@example.com", ["admin"])
    cy = await join(client, database_url, org, alice, "cy@example.com", ["member"])
    doc = await uploaded(client, bob, org, pdf(b"bob" * 30), title="Bob's")
    kept = await uploaded(client, alice, org, pdf(b"alice" * 30), title="Alice's")
    policy = f"{API}/orgs/{org}/erasure-policy"
    assert (await client.get(policy, headers=cy.auth)).json() == {
        "departedOwnerDocuments": "transfer"
    }
    r = await client.put(policy, json={"departedOwnerDocuments": "trash"}, headers=cy.auth)
    assert r.status_code == 403  # content.admin
    r = await client.put(policy, json={"departedOwnerDocuments": "shred"}, headers=alice.auth)
    assert r.status_code == 400
    r = await client.put(policy, json={"departedOwnerDocuments": "trash"}, headers=alice.auth)
    assert r.status_code == 200, r.text
    assert r.json() == {"departedOwnerDocuments": "trash"}
    await events.drain()

    assert (await client.delete(ME, headers=bob.auth)).status_code == 202
    await events.drain()
    rows = await fetch(
        database_url,
        "SELECT id, owner_id, trashed_at FROM content.documents ORDER BY created_at",
    )
    assert [(str(r["id"]), str(r["owner_id"])) for r in rows] == [
        (doc["id"], alice.user_id),
        (kept["id"], alice.user_id),
    ]
    assert rows[0]["trashed_at"] is not None  # Bob's: in the trash
    assert rows[1]["trashed_at"] is None  # Alice's own: untouched
    assert await rows_referencing(database_url, [uuid.UUID(bob.user_id), bob.email]) == {}
