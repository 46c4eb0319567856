"""Deleting an organisation: an owner schedules it (recent sign-in), the organisation is
closed at once and its members are e-mailed; an owner can cancel within the grace period;
after it (the test moves the clock) the purge deletes identity's rows and every context
deletes its own on ``identity.organisation_purged`` — documents and their files, tags,
notifications, conversations, workflows, classifier models — so that no row in any
schema names the organisation but the audit trail it keeps by retention, another
organisation is untouched, and every audit chain still verifies."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.content import bootstrap as content_bootstrap
from hub.identity.services.org_deletion import OrganisationDeletion
from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.integration.communication.support import sent
from tests.integration.communication.support_conversations import conversation, say
from tests.integration.communication.support_periodic import periodic_kernel
from tests.integration.content.support import DOCS, DirectoryBlobStore, uploaded
from tests.integration.identity.support import API, bearer, fetch
from tests.integration.identity.support_orgs import Person, create_org, join, person
from tests.integration.identity.support_tokens import with_claims
from tests.integration.workflow.support import published, role, started
from tests.support import problem
from tests.support.schema_scan import rows_referencing

Client = AsyncTestClient[Litestar]
GRACE_DAYS = 30

#: What may still name a purged organisation: its audit chain (entries, head, signed
#: checkpoints), kept under HUB_AUDIT_RETENTION_DAYS like every chain, and identity's
#: outbox row of the purge event itself (published; pruned after
#: HUB_OUTBOX_RETENTION_DAYS like every outbox row).
KEPT = {"content.audit_entries", "content.audit_chains", "content.audit_checkpoints"}
#: Those of them this test makes (no checkpoint is signed in it).
KEPT_OF_IT = {"content.audit_entries", "content.audit_chains"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(
        rate_limit_enabled=False,
        max_upload_bytes=8 * 1024 * 1024,
        org_deletion_grace_days=GRACE_DAYS,
    )


@pytest.fixture(autouse=True)
def blob_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DirectoryBlobStore:
    store = DirectoryBlobStore(tmp_path / "blobs")
    monkeypatch.setattr(content_bootstrap, "open_blob_store", lambda rt: store)
    return store


@pytest.fixture
def clock(app: Litestar) -> MovableClock:
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    app.state.kernel.services["org_deletion"].clock = clock
    return clock


async def purge_due(settings: Settings, clock: MovableClock) -> list[Any]:
    """What the ``identity.purge_organisations`` job does, on the test's loop and clock."""
    async with periodic_kernel(settings, clock) as kernel:
        service: OrganisationDeletion = kernel.services["org_deletion"]
        return list(await service.purge_due())


async def populated(
    client: Client, database_url: str, owner: Person, name: str, members: list[str]
) -> dict[str, Any]:
    """An organisation with members, documents (files, tags, a note, a share link),
    a notification, a conversation, a workflow with an instance."""
    org = (await create_org(client, owner, name))["id"]
    people = [await join(client, database_url, org, owner, email, ["member"]) for email in members]
    files = [f"{name} invoice {i}: {uuid.uuid4()}".encode() for i in range(3)]
    docs = [
        await uploaded(client, owner, org, f, file_name=f"{i}.txt", tags=[f"{name}-tag"])
        for i, f in enumerate(files)
    ]
    r = await client.post(
        f"{DOCS}/{docs[0]['id']}/notes", json={"text": "see page 2"}, headers=owner.auth
    )
    assert r.status_code == 201, r.text
    r = await client.post(f"{DOCS}/{docs[0]['id']}/share-links", headers=owner.auth)
    assert r.status_code == 201, r.text
    notification = await sent(client, owner, org)
    talk = await conversation(client, owner, org, *people)
    await say(client, owner, talk["id"], "hello")
    await role(client, owner, org, "Approver", ["workflow.instances.read"])
    definition = await published(client, owner, org)
    instance = await started(client, owner, org)
    return {
        "id": org,
        "people": people,
        "docs": docs,
        "blobs": {hashlib.sha256(f).hexdigest() for f in files},
        "ids": [
            org,
            *(d["id"] for d in docs),
            notification["id"],
            talk["id"],
            definition["id"],
            instance["id"],
        ],
    }


async def _classifier(database_url: str, org: str) -> None:
    """A trained classifier's rows (training itself is exercised by workflow's tests)."""
    conn_rows = [
        (
            "INSERT INTO workflow.classifier_states (organisation_id, state, progress,"
            " documents_used, documents_skipped) VALUES ($1, 'ready', 1.0, 3, '{}')"
        ),
        (
            "INSERT INTO workflow.classifier_models (organisation_id, version, created_at, data)"
            " VALUES ($1, 1, now(), '\\x00')"
        ),
    ]
    for statement in conn_rows:
        await fetch(database_url, statement, uuid.UUID(org))


async def scan(database_url: str, values: list[str]) -> dict[str, int]:
    return await rows_referencing(database_url, values)


async def verify_every_chain(settings: Settings, clock: MovableClock) -> int:
    """``hub audit verify`` over every chain (platform, kept and purged organisations)."""
    async with periodic_kernel(settings, clock) as kernel:
        audit_log = kernel.services["audit_log"]
        chains = await audit_log.chains()
        for chain in chains:
            verdict = await audit_log.verify(chain)
            assert verdict.ok, (chain, verdict)
        return len(chains)


# --------------------------------------------------------------------------- the journey


async def test_a_deleted_organisation_leaves_no_row_in_any_context(
    client: Client,
    app: Litestar,
    settings: Settings,
    database_url: str,
    events: InProcessWorker,
    clock: MovableClock,
    blob_store: DirectoryBlobStore,
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    doomed = await populated(
        client, database_url, owner, "Doomed", ["ann@example.com", "bob@example.com"]
    )
    other_owner = await person(client, database_url, "olga@example.com")
    kept = await populated(client, database_url, other_owner, "Kept", ["kim@example.com"])
    await events.drain()
    for org_id in (doomed["id"], kept["id"]):  # after the uploads' events: it is not a real one
        await _classifier(database_url, org_id)
    org = doomed["id"]

    # Everything is there, on both sides, files included.
    before = await scan(database_url, doomed["ids"])
    for table in (
        "identity.organisations",
        "identity.memberships",
        "content.documents",
        "content.tags",
        "content.notes",
        "communication.notifications",
        "communication.inbox_items",
        "communication.messages",
        "workflow.definitions",
        "workflow.instances",
        "workflow.classifier_models",
    ):
        assert before.get(table), (table, before)
    kept_scan = await scan(database_url, kept["ids"])
    files_before = blob_store.blobs()
    assert doomed["blobs"] | kept["blobs"] <= files_before

    r = await client.delete(f"{API}/orgs/{org}", headers=owner.auth)
    assert r.status_code == 202, r.text
    body = r.json()
    purge_after = datetime.fromisoformat(body["purgeAfter"].replace("Z", "+00:00"))
    assert purge_after == clock() + timedelta(days=GRACE_DAYS)

    # Closed at once, for members and owner alike (its documents too).
    ann = doomed["people"][0]
    for who in (owner, ann):
        assert (await client.get(f"{API}/orgs/{org}", headers=who.auth)).status_code == 404
        r = await client.get(f"{DOCS}/{doomed['docs'][0]['id']}", headers=who.auth)
        assert r.status_code == 404
    listed = (await client.get(f"{API}/orgs", headers=owner.auth)).json()["items"]
    assert [o["purgeAfter"] for o in listed if o["id"] == org] == [body["purgeAfter"]]

    # Small batches, so a purge takes several transactions per table.
    worker = events.background.worker_kernel().services
    worker["content_org_purge"].batch = 1
    for name in ("content_org_purge", "communication_org_purge", "workflow_org_purge"):
        setattr(worker[name], "row_batch" if name.startswith("content") else "batch", 2)

    # Not before the grace period ends.
    clock.advance(days=GRACE_DAYS - 1)
    assert await purge_due(settings, clock) == []
    clock.advance(days=1, seconds=1)
    purged = await purge_due(settings, clock)
    assert [p.organisation_id for p in purged] == [uuid.UUID(org)]
    assert purged[0].members == 3
    await events.drain()

    # Nothing of it is left but its audit chain; the files only it held are gone.
    assert set(await scan(database_url, [org])) == KEPT_OF_IT | {"identity.outbox"}
    # Its documents', notification's, conversation's and workflows' ids: only in the
    # audit trail and in relayed job requests (delivery history the kernel's hourly prune
    # deletes after HUB_OUTBOX_RETENTION_DAYS).
    left = await scan(database_url, doomed["ids"])
    assert set(left) <= KEPT | {"identity.outbox", "content.outbox", "communication.outbox"}
    for schema in ("content", "communication"):
        rows = await fetch(
            database_url,
            f"SELECT event_type, published_at FROM {schema}.outbox WHERE payload::text"  # noqa: S608
            " LIKE ANY($1::text[])",
            [f"%{i}%" for i in doomed["ids"]],
        )
        assert {(r["event_type"], r["published_at"] is not None) for r in rows} <= {
            ("kernel.job_requested", True)
        }
    outbox = await fetch(
        database_url,
        "SELECT event_type, published_at FROM identity.outbox WHERE payload::text LIKE $1",
        f"%{org}%",
    )
    assert [(r["event_type"], r["published_at"] is not None) for r in outbox] == [
        ("identity.organisation_purged", True)
    ]
    files_after = blob_store.blobs()
    assert not doomed["blobs"] & files_after
    assert kept["blobs"] <= files_after

    # The other organisation is untouched, files and all.
    assert await scan(database_url, kept["ids"]) == kept_scan
    for doc in kept["docs"]:
        r = await client.get(f"{DOCS}/{doc['id']}/content", headers=other_owner.auth)
        assert r.status_code == 200, r.text

    # The purge is an entry of the platform chain; every chain (the purged one too) verifies.
    rows = await fetch(
        database_url,
        "SELECT chain_id, action, summary FROM content.audit_entries WHERE action = $1",
        "identity.organisation_purged",
    )
    assert [(r["chain_id"], r["action"]) for r in rows] == [
        (uuid.UUID(int=0), "identity.organisation_purged")
    ]
    assert await verify_every_chain(settings, clock) >= 3
    r = await client.get(
        f"{API}/audit/verify", params={"organisationId": kept["id"]}, headers=other_owner.auth
    )
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True

    # A second delivery of the event, or a second purge run, changes nothing.
    assert await purge_due(settings, clock) == []
    async with periodic_kernel(settings, clock) as kernel:
        content_purge = kernel.services["content_org_purge"]
        async with content_purge.store.uow() as uow:
            again = await content_purge.purge(uow, uuid.UUID(org))
            await uow.commit()
    assert again == {}
    assert set(await scan(database_url, [org])) == KEPT_OF_IT | {"identity.outbox"}


# --------------------------------------------------------------------------- refusals


async def test_only_an_owner_recently_signed_in_may_delete(
    client: Client, app: Litestar, database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    admin = await join(client, database_url, org, owner, "adam@example.com", ["admin"])
    member = await join(client, database_url, org, owner, "mia@example.com", ["member"])
    stranger = await person(client, database_url, "sam@example.com")
    url = f"{API}/orgs/{org}"

    for who in (admin, member):
        r = await client.delete(url, headers=who.auth)
        assert r.status_code == 403, r.text
    assert (await client.delete(url, headers=stranger.auth)).status_code == 404
    r = await client.delete(f"{API}/orgs/{uuid.uuid4()}", headers=owner.auth)
    assert r.status_code == 404
    stale = bearer(await with_claims(app, owner.token, auth_time=int(time.time()) - 3600))
    r = await client.delete(url, headers=stale)
    assert r.status_code == 403
    assert problem(r)["code"] == "reauthentication_required"
    assert (await client.delete(url)).status_code == 401

    # Nothing changed: the organisation is open to its members.
    rows = await fetch(
        database_url,
        "SELECT deletion_scheduled_at FROM identity.organisations WHERE id = $1",
        uuid.UUID(org),
    )
    assert rows[0]["deletion_scheduled_at"] is None
    assert (await client.get(url, headers=member.auth)).status_code == 200

    r = await client.delete(url, headers=owner.auth)
    assert r.status_code == 202, r.text
    r = await client.delete(url, headers=owner.auth)
    assert r.status_code == 404  # closed: the guard finds no membership any more
    r = await client.post(f"{url}/deletion/cancel", headers=member.auth)
    assert r.status_code == 403
    assert problem(r)["code"] == "owner_required"
    r = await client.post(f"{url}/deletion/cancel", headers=stranger.auth)
    assert r.status_code == 404


async def test_members_are_told_and_an_owner_cancels_within_the_grace_period(
    client: Client,
    app: Litestar,
    settings: Settings,
    database_url: str,
    events: InProcessWorker,
    clock: MovableClock,
    mailbox: Any,
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner, "Acme"))["id"]
    member = await join(client, database_url, org, owner, "mia@example.com", ["member"])
    url = f"{API}/orgs/{org}"
    r = await client.post(f"{url}/deletion/cancel", headers=owner.auth)
    assert r.status_code == 409
    assert problem(r)["code"] == "deletion_not_scheduled"

    assert (await client.delete(url, headers=owner.auth)).status_code == 202
    await events.drain()
    for address in ("owner@example.com", "mia@example.com"):
        told = [m for m in mailbox.list(to=address) if "will be deleted" in m.subject]
        assert len(told) == 1, [m.subject for m in mailbox.list(to=address)]
        assert "Acme" in told[0].subject
    assert (await client.get(url, headers=member.auth)).status_code == 404

    clock.advance(days=GRACE_DAYS - 1)
    r = await client.post(f"{url}/deletion/cancel", headers=owner.auth)
    assert r.status_code == 204, r.text
    await events.drain()
    assert (await client.get(url, headers=member.auth)).status_code == 200
    assert any("will not be deleted" in m.subject for m in mailbox.list(to="mia@example.com"))
    clock.advance(days=5)
    assert await purge_due(settings, clock) == []
    assert (await client.get(url, headers=owner.auth)).status_code == 200
    types = [
        r["event_type"]
        for r in await fetch(
            database_url,
            "SELECT event_type FROM identity.outbox WHERE event_type LIKE 'identity.organisation_%'"
            " ORDER BY position",
        )
    ]
    assert types[-2:] == [
        "identity.organisation_deletion_scheduled",
        "identity.organisation_deletion_cancelled",
    ]

    # Once the grace period is over, cancelling is too late.
    assert (await client.delete(url, headers=owner.auth)).status_code == 202
    clock.advance(days=GRACE_DAYS, seconds=1)
    r = await client.post(f"{url}/deletion/cancel", headers=owner.auth)
    assert r.status_code == 409
    assert problem(r)["code"] == "grace_period_over"
