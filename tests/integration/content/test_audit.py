"""The audit trail end to end: real requests, the real relay and catch-all delivery, real
PostgreSQL (trigger, partitions, row locks), tampering by a database superuser.

Requests carry their own ``X-Request-Id`` so the test knows each one's correlation id.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import context_modules
from hub.cli import main as hub_main
from hub.content.domain.audit import PLATFORM_CHAIN, entry_hash
from hub.content.services.audit import AuditLog, entry_of
from hub.kernel.clock import MovableClock
from hub.kernel.events import EventEnvelope
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.wiring import assemble
from hub.worker import InProcessWorker
from tests.integration.content.support import DOCS, pdf, upload, uploaded
from tests.integration.identity.support import API, fetch, login, plain_dsn
from tests.integration.identity.support_orgs import (
    Person,
    api_key,
    create_org,
    join,
    person,
)
from tests.support import problem

Client = AsyncTestClient[Litestar]
AUDIT = f"{API}/audit"


def rid(name: str, who: Person | None = None) -> dict[str, str]:
    """Headers of a request with a known request (and so correlation) id."""
    return {**(who.auth if who else {}), "X-Request-Id": name}


async def audit(client: Client, who: Person, org: str | None, **params: Any) -> Any:
    query = {"limit": 100, **params}
    if org is not None:
        query["organisationId"] = org
    r = await client.get(AUDIT, params=query, headers=who.auth)
    assert r.status_code == 200, r.text
    return r.json()


async def verify(client: Client, who: Person, org: str | None) -> dict[str, Any]:
    params = {"organisationId": org} if org else {}
    r = await client.get(f"{AUDIT}/verify", params=params, headers=who.auth)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def hub_audit(settings: Settings, *args: str) -> tuple[int, str]:
    env = {
        "HUB_DATABASE_URL": settings.database_url or "",
        "HUB_REDIS_URL": settings.redis_url or "",
        "HUB_SECRET_KEY": settings.secret_key,
    }
    result = CliRunner().invoke(hub_main, ["audit", *args], env=env)
    return result.exit_code, result.output


def cli_verify(settings: Settings, *args: str) -> tuple[int, str]:
    return hub_audit(settings, "verify", *args)


async def superuser(database_url: str, *statements: str, args: Any = ()) -> None:
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        for statement in statements:
            await conn.execute(statement, *args)
    finally:
        await conn.close()


#: The upload's text-extraction job reports its outcome: an entry of the trail too.
EXTRACTED = "content.document.text_extracted"


async def chain_rows(database_url: str, chain: str) -> list[Any]:
    return await fetch(
        database_url,
        "SELECT * FROM content.audit_entries WHERE chain_id = $1 ORDER BY seq",
        uuid.UUID(chain),
    )


async def audited_org(client: Client, database_url: str, events: InProcessWorker) -> Any:
    """An owner, an organisation and three uploads, all delivered to the trail."""
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    docs = [(await uploaded(client, owner, org, pdf(bytes([i]) * 50)))["id"] for i in range(3)]
    await events.drain()
    return owner, org, docs


# --------------------------------------------------------------------------- the journey


async def test_a_journey_is_audited_with_correlation_ids_tying_each_request_together(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    r = await client.post(f"{API}/orgs", json={"name": "Acme"}, headers=rid("req-org", owner))
    org = r.json()["id"]
    r = await upload(client, rid("req-upload", owner), org, pdf(b"journey" * 40))
    doc = r.json()["id"]
    r = await client.put(
        f"{DOCS}/{doc}/permissions",
        json={"restricted": True, "shares": []},
        headers=rid("req-share", owner),
    )
    assert r.status_code == 200, r.text
    r = await client.post(f"{DOCS}/{doc}/share-links", headers=rid("req-link", owner))
    token = r.json()["url"].rsplit("/", 1)[-1]
    r = await client.get(f"{API}/share/{token}", headers=rid("req-anon"))
    assert r.status_code == 200
    r = await client.get(f"{DOCS}/{doc}/content", headers=rid("req-download", owner))
    assert r.status_code == 200
    assert (
        await client.delete(f"{DOCS}/{doc}", headers=rid("req-trash", owner))
    ).status_code == 204
    await events.drain()

    items = (await audit(client, owner, org))["items"]
    by_request: dict[str, set[str]] = {}
    for item in items:
        by_request.setdefault(item["correlationId"], set()).add(item["action"])
        assert item["organisationId"] == org
        if item["action"] == EXTRACTED:  # made by the upload's job: its correlation only
            assert (item["requestId"], item["actorType"]) == (None, "system")
            continue
        assert item["requestId"] == item["correlationId"]
        assert item["clientAddress"]  # the test client's address
    assert by_request == {
        "req-org": {"identity.organisation_created", "identity.member_added"},
        "req-upload": {"content.document.uploaded", EXTRACTED},
        "req-share": {"content.document.shared"},
        "req-link": {"content.document.share_link_created"},
        "req-anon": {"content.document.share_link_used"},
        "req-download": {"content.document.downloaded"},
        "req-trash": {"content.document.trashed"},
    }
    # Newest first, positions 1..n of one chain.
    assert [i["seq"] for i in items] == list(range(len(items), 0, -1))
    for item in items:
        if item["action"].startswith("content.document."):
            assert (item["entityType"], item["entityId"]) == ("document", doc)
        if item["correlationId"] == "req-anon":
            assert (item["actorId"], item["actorType"]) == (None, "anonymous")
        elif item["action"] != EXTRACTED:
            assert (item["actorId"], item["actorType"]) == (owner.user_id, "user")
    created = next(i for i in items if i["action"] == "identity.organisation_created")
    assert (created["entityType"], created["entityId"]) == ("organisation", org)
    assert created["summary"] == {"name": "Acme", "createdBy": owner.user_id}

    # Filters.
    only = await audit(client, owner, org, correlationId="req-download")
    assert [i["action"] for i in only["items"]] == ["content.document.downloaded"]
    on_doc = await audit(client, owner, org, entityType="document", entityId=doc)
    assert len(on_doc["items"]) == 7  # the six requests' and the extraction's
    trashed = await audit(client, owner, org, action="content.document.trashed")
    assert [i["correlationId"] for i in trashed["items"]] == ["req-trash"]
    mine = await audit(client, owner, org, actorId=owner.user_id)
    # all but the anonymous share-link use and the extraction job's outcome
    assert len(mine["items"]) == len(items) - 2
    assert (await audit(client, owner, org, occurredFrom="2999-01-01T00:00:00Z"))["items"] == []
    assert len((await audit(client, owner, org, occurredTo="2999-01-01T00:00:00Z"))["items"]) == 9
    # Cursor pagination walks the same entries.
    seen, cursor = [], None
    while True:
        page = await audit(client, owner, org, limit=3, **({"cursor": cursor} if cursor else {}))
        seen += [i["id"] for i in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [i["id"] for i in items]

    assert await verify(client, owner, org) == {"ok": True, "entries": 9, "checkpoints": 0}

    # Export: NDJSON oldest first, the same entries; CSV with a header row.
    r = await client.get(f"{AUDIT}/export", params={"organisationId": org}, headers=owner.auth)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert lines == list(reversed(items))
    r = await client.get(
        f"{AUDIT}/export",
        params={"organisationId": org, "format": "csv", "correlationId": "req-upload"},
        headers=owner.auth,
    )
    assert r.headers["content-type"].startswith("text/csv")
    rows = r.text.splitlines()
    assert rows[0].startswith("id,seq,occurredAt,recordedAt,organisationId,actorId")
    assert len(rows) == 3  # the header, the upload, its extraction's outcome
    assert "content.document.uploaded" in rows[1]
    assert EXTRACTED in rows[2]

    # Sign-up and sign-in concern no organisation: they are on the platform chain.
    platform = await fetch(
        database_url,
        "SELECT action FROM content.audit_entries WHERE chain_id = $1 ORDER BY seq",
        PLATFORM_CHAIN,
    )
    assert [r["action"] for r in platform][:3] == [
        "identity.user_registered",
        "identity.user_verified",
        "identity.login_succeeded",
    ]


async def test_csv_export_neutralises_formula_cells(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    r = await upload(client, rid("-2-3", owner), org, pdf(b"formula"))
    assert r.status_code == 201
    await events.drain()
    r = await client.get(
        f"{AUDIT}/export",
        params={"organisationId": org, "format": "csv", "action": "content.document.uploaded"},
        headers=owner.auth,
    )
    (row,) = r.text.splitlines()[1:]
    assert ",'-2-3,'-2-3," in row  # correlationId and requestId, never a bare -2-3
    assert ",-2-3" not in row


# --------------------------------------------------------------------------- tampering


async def test_the_log_refuses_update_delete_and_truncate(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    _, org, _ = await audited_org(client, database_url, events)
    for statement in (
        "UPDATE content.audit_entries SET action = 'x'",
        "DELETE FROM content.audit_entries",
        "TRUNCATE content.audit_entries",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await superuser(database_url, statement)
    # Truncating one month's partition directly is refused too.
    (partition,) = await fetch(
        database_url,
        "SELECT tableoid::regclass::text AS name FROM content.audit_entries LIMIT 1",
    )
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await superuser(database_url, f"TRUNCATE {partition['name']}")
    actions = [r["action"] for r in await chain_rows(database_url, org)]
    # created, joined, 3 uploads (and each upload's text-extraction outcome)
    assert [a for a in actions if a != EXTRACTED] == [
        "identity.organisation_created",
        "identity.member_added",
        *["content.document.uploaded"] * 3,
    ]
    assert actions.count(EXTRACTED) == 3


async def test_an_edited_entry_is_found_by_verify_and_the_cli(
    client: Client, database_url: str, events: InProcessWorker, settings: Settings
) -> None:
    owner, org, _ = await audited_org(client, database_url, events)
    rows = await chain_rows(database_url, org)
    assert (await asyncio.to_thread(cli_verify, settings, "--organisation", org))[0] == 0
    await _tamper(
        database_url,
        "UPDATE content.audit_entries SET actor_id = NULL WHERE chain_id = $1 AND seq = 4",
        uuid.UUID(org),
    )
    assert await verify(client, owner, org) == {
        "ok": False,
        "entries": 4,
        "checkpoints": 0,
        "firstBrokenEntryId": str(rows[3]["id"]),
        "reason": "entry_altered",
    }
    code, output = await asyncio.to_thread(cli_verify, settings, "--organisation", org)
    assert code == 1
    assert f"BROKEN  organisation {org}: entry_altered at entry {rows[3]['id']}" in output
    # Every chain (the platform's too) without --organisation: still exit 1.
    code, output = await asyncio.to_thread(cli_verify, settings)
    assert code == 1
    assert "ok      platform:" in output


async def _tamper(database_url: str, statement: str, *args: Any) -> None:
    """As a superuser: switch the append-only trigger off, change rows, switch it on."""
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        await conn.execute(
            "ALTER TABLE content.audit_entries DISABLE TRIGGER audit_entries_append_only"
        )
        await conn.execute(statement, *args)
        await conn.execute(
            "ALTER TABLE content.audit_entries ENABLE TRIGGER audit_entries_append_only"
        )
    finally:
        await conn.close()


async def test_a_deleted_entry_is_found_by_verify_and_the_cli(
    client: Client, database_url: str, events: InProcessWorker, settings: Settings
) -> None:
    owner, org, _ = await audited_org(client, database_url, events)
    rows = await chain_rows(database_url, org)
    await _tamper(
        database_url,
        "DELETE FROM content.audit_entries WHERE chain_id = $1 AND seq = 2",
        uuid.UUID(org),
    )
    body = await verify(client, owner, org)
    assert (body["ok"], body["reason"], body["firstBrokenEntryId"]) == (
        False,
        "entry_missing",
        str(rows[2]["id"]),  # the entry after the hole
    )
    code, output = await asyncio.to_thread(cli_verify, settings, "--organisation", org)
    assert (code, "entry_missing" in output) == (1, True)

    # The newest entry removed: the chain's head names a position no entry reaches.
    await _tamper(
        database_url,
        "DELETE FROM content.audit_entries WHERE chain_id = $1 AND seq = 5",
        uuid.UUID(org),
    )
    await _tamper(
        database_url,
        "DELETE FROM content.audit_entries WHERE chain_id = $1 AND seq = 1",
        uuid.UUID(org),
    )
    body = await verify(client, owner, org)
    assert (body["reason"], body["firstBrokenEntryId"]) == ("entry_missing", str(rows[2]["id"]))


async def test_a_tail_cut_off_is_found(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner, org, _ = await audited_org(client, database_url, events)
    rows = await chain_rows(database_url, org)
    await _tamper(
        database_url,
        "DELETE FROM content.audit_entries WHERE chain_id = $1 AND seq = $2",
        uuid.UUID(org),
        rows[-1]["seq"],
    )
    body = await verify(client, owner, org)
    assert (body["ok"], body["reason"], body["firstBrokenEntryId"]) == (
        False,
        "entries_missing_at_end",
        str(rows[-2]["id"]),
    )


async def _rewrite_from(database_url: str, org: str, seq: int, summary: dict[str, Any]) -> None:
    """What an attacker with the database but not HUB_SECRET_KEY can do best: change an
    entry and recompute every hash after it, and the chain head, consistently."""
    rows = await chain_rows(database_url, org)
    previous = rows[seq - 2]["hash"] if seq > 1 else "0" * 64
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        await conn.execute(
            "ALTER TABLE content.audit_entries DISABLE TRIGGER audit_entries_append_only"
        )
        for row in rows[seq - 1 :]:
            fields = dict(row)
            fields["summary"] = json.loads(fields["summary"])
            if row["seq"] == seq:
                fields["summary"] = summary
            digest = entry_hash(previous, entry_of(SimpleNamespace(**fields)))
            await conn.execute(
                "UPDATE content.audit_entries SET summary = $1::jsonb, prev_hash = $2,"
                " hash = $3 WHERE chain_id = $4 AND seq = $5",
                json.dumps(fields["summary"]),
                previous,
                digest,
                uuid.UUID(org),
                row["seq"],
            )
            previous = digest
        await conn.execute(
            "UPDATE content.audit_chains SET last_hash = $1 WHERE chain_id = $2",
            previous,
            uuid.UUID(org),
        )
        await conn.execute(
            "ALTER TABLE content.audit_entries ENABLE TRIGGER audit_entries_append_only"
        )
    finally:
        await conn.close()


async def test_a_consistently_rewritten_chain_is_caught_by_its_signed_checkpoints(
    client: Client, database_url: str, events: InProcessWorker, settings: Settings
) -> None:
    owner, org, _ = await audited_org(client, database_url, events)
    # Checkpoint after entry n1, two more uploads, checkpoint after entry n2.
    n1 = len(await chain_rows(database_url, org))
    r = await client.post(
        f"{AUDIT}/checkpoints", params={"organisationId": org}, headers=owner.auth
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["chainId"], first["seq"]) == (org, n1)
    for i in range(2):
        await uploaded(client, owner, org, pdf(b"later" * (i + 2)))
    await events.drain()
    rows = await chain_rows(database_url, org)
    n2 = len(rows)
    assert n2 > n1
    r = await client.post(
        f"{AUDIT}/checkpoints", params={"organisationId": org}, headers=owner.auth
    )
    assert r.json()["seq"] == n2
    assert await verify(client, owner, org) == {"ok": True, "entries": n2, "checkpoints": 2}

    # The last entry rewritten, every later hash and the head recomputed: the links all
    # hold, the second checkpoint does not; the entry after the first (still matching)
    # one is where the rewrite can have started.
    await _rewrite_from(database_url, org, n2, {"title": "forged", "fileName": "x.pdf"})
    body = await verify(client, owner, org)
    assert body == {
        "ok": False,
        "entries": n2,
        "checkpoints": 2,
        "firstBrokenEntryId": str(rows[n1]["id"]),
        "reason": "checkpoint_mismatch",
    }
    code, output = await asyncio.to_thread(cli_verify, settings, "--organisation", org)
    assert code == 1
    assert f"checkpoint_mismatch at entry {rows[n1]['id']}" in output

    # Forging the checkpoints too needs the key: a recomputed "signature" is refused.
    await superuser(
        database_url,
        "UPDATE content.audit_checkpoints SET hash = (SELECT last_hash FROM"
        " content.audit_chains WHERE chain_id = audit_checkpoints.chain_id)"
        " WHERE seq = $1",
        args=(n2,),
    )
    assert (await verify(client, owner, org))["reason"] == "checkpoint_signature_invalid"


async def test_hub_audit_checkpoint_signs_each_chain_that_grew(
    client: Client, database_url: str, events: InProcessWorker, settings: Settings
) -> None:
    owner, org, _ = await audited_org(client, database_url, events)
    n = len(await chain_rows(database_url, org))
    code, output = await asyncio.to_thread(hub_audit, settings, "checkpoint")
    assert code == 0, output
    signed = int(output.split()[1])
    assert output.strip() == f"signed {signed} chain heads"
    assert signed >= 1  # the organisation's chain (and the platform's, if it grew)
    assert await verify(client, owner, org) == {"ok": True, "entries": n, "checkpoints": 1}
    code, output = await asyncio.to_thread(hub_audit, settings, "checkpoint")
    assert (code, output.strip()) == (0, "signed 0 chain heads")  # nothing grew since
    code, output = await asyncio.to_thread(cli_verify, settings, "--organisation", org)
    assert code == 0
    assert f"ok      organisation {org}: {n} entries, 1 checkpoints" in output
    code, output = await asyncio.to_thread(cli_verify, settings, "--platform")
    assert code == 0, output
    assert output.startswith("ok      platform: ")
    assert "organisation" not in output  # that chain only


async def test_a_rewrite_from_the_start_is_located_at_the_first_entry(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner, org, _ = await audited_org(client, database_url, events)
    r = await client.post(
        f"{AUDIT}/checkpoints", params={"organisationId": org}, headers=owner.auth
    )
    assert r.status_code == 201
    rows = await chain_rows(database_url, org)
    await _rewrite_from(database_url, org, 1, {"name": "Evil Corp"})
    body = await verify(client, owner, org)
    assert (body["reason"], body["firstBrokenEntryId"]) == (
        "checkpoint_mismatch",
        str(rows[0]["id"]),
    )


# --------------------------------------------------------------------------- concurrency


@pytest.fixture
async def audit_kernel(
    settings: Settings, clean_state: None
) -> AsyncIterator[tuple[AuditLog, MovableClock]]:
    """A kernel (as a worker has) whose clock the test moves; its audit log."""
    clock = MovableClock(datetime(2020, 1, 15, 12, tzinfo=UTC))
    assert settings.database_url is not None
    assert settings.redis_url is not None
    kernel = Kernel(settings, settings.database_url, settings.redis_url, clock=clock)
    assemble(kernel, context_modules())
    try:
        yield kernel.services["audit_log"], clock
    finally:
        await kernel.close()


def envelope(org: uuid.UUID | None, n: int, **payload: Any) -> EventEnvelope:
    return EventEnvelope(
        event_id=uuid.uuid4(),
        event_type="content.tag.created",
        event_version=1,
        source="content",
        occurred_at=datetime(2020, 1, 1, tzinfo=UTC),
        actor_id=None,
        organisation_id=org,
        correlation_id=f"c-{n}",
        payload={"id": str(uuid.uuid4()), "name": f"tag {n}", **payload},
    )


async def append(log: AuditLog, org: uuid.UUID | None, n: int, **payload: Any) -> None:
    async with log.store.uow() as uow:
        await log.append(uow, envelope(org, n, **payload))
        await uow.commit()


async def test_twenty_concurrent_writers_make_one_unbroken_chain(
    audit_kernel: tuple[AuditLog, MovableClock], database_url: str
) -> None:
    log, _clock = audit_kernel
    org = uuid.uuid4()
    barrier = asyncio.Barrier(20)

    async def writer(n: int) -> None:
        async with log.store.uow() as uow:
            await barrier.wait()  # all twenty transactions open before any appends
            await log.append(uow, envelope(org, n))
            await uow.commit()

    await asyncio.gather(*(writer(n) for n in range(20)))
    rows = await chain_rows(database_url, str(org))
    assert [r["seq"] for r in rows] == list(range(1, 21))
    assert sorted(r["correlation_id"] for r in rows) == sorted(f"c-{n}" for n in range(20))
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(rows))
    verdict = await log.verify(org)
    assert (verdict.ok, verdict.entries) == (True, 20)
    # Same instant for all twenty (the clock stands still): one partition, one chain.
    assert {r["recorded_at"] for r in rows} == {datetime(2020, 1, 15, 12, tzinfo=UTC)}


async def test_a_run_of_events_in_one_transaction_extends_each_chain_in_order(
    audit_kernel: tuple[AuditLog, MovableClock], database_url: str
) -> None:
    """As a delivery run does: several events, two chains interleaved, one commit; then a
    second transaction continues from the committed heads."""
    log, clock = audit_kernel
    first, second = uuid.uuid4(), uuid.uuid4()
    async with log.store.uow() as uow:
        for n in range(6):
            await log.append(uow, envelope(first if n % 2 == 0 else second, n))
            clock.advance(seconds=1)
        await uow.commit()
    await append(log, first, 6)
    rows = await chain_rows(database_url, str(first))
    assert [(r["seq"], r["correlation_id"]) for r in rows] == [
        (1, "c-0"),
        (2, "c-2"),
        (3, "c-4"),
        (4, "c-6"),
    ]
    assert [r["seq"] for r in await chain_rows(database_url, str(second))] == [1, 2, 3]
    for chain in (first, second):
        verdict = await log.verify(chain)
        assert verdict.ok, verdict


# --------------------------------------------------------------------------- retention


async def test_retention_drops_old_months_and_the_chain_still_verifies(
    audit_kernel: tuple[AuditLog, MovableClock], database_url: str
) -> None:
    log, clock = audit_kernel
    org = uuid.uuid4()
    for n in range(3):
        await append(log, org, n)  # January 2020
    january = await log.checkpoint(org)
    clock.set(datetime(2020, 2, 15, tzinfo=UTC))
    for n in range(3, 5):
        await append(log, org, n)
    february = await log.checkpoint(org)
    clock.set(datetime(2020, 3, 10, tzinfo=UTC))
    await append(log, org, 5)
    await append(log, None, 6)  # the platform chain, in March only

    assert "audit_entries_2020_05" not in await log.partitions()
    made = await log.ensure_partitions()
    assert made == ["audit_entries_2020_03", "audit_entries_2020_04", "audit_entries_2020_05"]
    assert await log.ensure_partitions() == made  # idempotent

    log.retention_days = 0  # keep forever
    assert await log.apply_retention() == []
    log.retention_days = 30  # cut-off 2020-02-09: January has ended before it, February not
    assert await log.apply_retention() == ["audit_entries_2020_01"]
    assert await log.apply_retention() == []
    assert "audit_entries_2020_01" not in await log.partitions()

    rows = await chain_rows(database_url, str(org))
    assert [r["seq"] for r in rows] == [4, 5, 6]
    (head,) = await fetch(
        database_url, "SELECT * FROM content.audit_chains WHERE chain_id = $1", org
    )
    assert (head["anchor_seq"], head["anchor_hash"]) == (3, january.hash)
    verdict = await log.verify(org)
    assert (verdict.ok, verdict.entries, verdict.checkpoints) == (True, 3, 2)
    assert february.seq == 5
    assert (await log.verify(PLATFORM_CHAIN)).ok

    # The anchor is signed: moving it (to hide a dropped-and-forged prefix) is caught.
    await superuser(
        database_url,
        "UPDATE content.audit_chains SET anchor_seq = 2 WHERE chain_id = $1",
        args=(org,),
    )
    verdict = await log.verify(org)
    assert (verdict.ok, verdict.reason) == (False, "anchor_invalid")


# --------------------------------------------------------------------------- permissions


async def test_who_may_read_the_trail(
    client: Client, database_url: str, events: InProcessWorker, settings: Settings
) -> None:
    owner, org, _ = await audited_org(client, database_url, events)
    member = await join(client, database_url, org, owner, "member@example.com")
    auditor = await join(client, database_url, org, owner, "auditor@example.com", ["auditor"])
    outsider = await person(client, database_url, "outsider@example.com")
    await events.drain()

    for path in ("", "/verify", "/export"):
        url = f"{AUDIT}{path}"
        params = {"organisationId": org}
        assert (await client.get(url, params=params, headers=owner.auth)).status_code == 200
        assert (await client.get(url, params=params, headers=auditor.auth)).status_code == 200
        r = await client.get(url, params=params, headers=member.auth)
        assert (r.status_code, problem(r)["code"]) == (403, "permission_denied")
        assert problem(r)["extra"]["permission"] == "content.audit.read"
        r = await client.get(url, params=params, headers=outsider.auth)
        assert r.status_code == 404
        # The platform chain: platform administrators only.
        for who in (owner, auditor, member):
            r = await client.get(url, headers=who.auth)
            assert (r.status_code, problem(r)["code"]) == (403, "platform_admin_required")
        assert (await client.get(url, params=params)).status_code == 401

    # Signing a checkpoint on demand: content.admin (owners, admins), not auditors.
    r = await client.post(
        f"{AUDIT}/checkpoints", params={"organisationId": org}, headers=auditor.auth
    )
    assert (r.status_code, problem(r)["extra"]["permission"]) == (403, "content.admin")
    assert await fetch(database_url, "SELECT 1 FROM content.audit_checkpoints") == []

    await superuser(
        database_url,
        "UPDATE identity.users SET is_platform_admin = true WHERE email = 'outsider@example.com'",
    )
    root = (await login(client, "outsider@example.com")).json()["accessToken"]
    headers = {"Authorization": f"Bearer {root}"}
    r = await client.get(AUDIT, headers=headers)
    assert r.status_code == 200
    assert {i["organisationId"] for i in r.json()["items"]} == {None}
    assert "identity.user_registered" in {i["action"] for i in r.json()["items"]}
    assert (await client.get(f"{AUDIT}/verify", headers=headers)).json()["ok"] is True
    r = await client.post(f"{AUDIT}/checkpoints", headers=headers)
    assert (r.status_code, r.json()["chainId"]) == (201, str(PLATFORM_CHAIN))
    # ...but an organisation's chain stays its members' business.
    r = await client.get(AUDIT, params={"organisationId": org}, headers=headers)
    assert r.status_code == 404


async def test_bad_queries_are_refused(client: Client, database_url: str) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    r = await client.get(AUDIT, params={"organisationId": "nope"}, headers=owner.auth)
    assert r.status_code == 400
    r = await client.get(
        f"{AUDIT}/export", params={"organisationId": org, "format": "xml"}, headers=owner.auth
    )
    assert r.status_code == 400
    r = await client.get(
        AUDIT, params={"organisationId": org, "cursor": "Zm9v"}, headers=owner.auth
    )
    assert (r.status_code, problem(r)["code"]) == (422, "invalid_cursor")
    r = await client.get(
        AUDIT, params={"organisationId": org, "occurredFrom": "yesterday"}, headers=owner.auth
    )
    assert r.status_code == 400
    r = await client.get(AUDIT, params={"organisationId": str(uuid.uuid4())}, headers=owner.auth)
    assert r.status_code == 404


# --------------------------------------------------------------------------- secrets


async def test_summaries_never_carry_secrets_and_api_keys_act_as_api_key(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    created = await api_key(
        client, owner, ["content.documents.read", "content.documents.write"], organisation_id=org
    )
    secret = created["key"]
    r = await upload(client, {"X-API-Key": secret, "X-Request-Id": "req-robot"}, org, pdf(b"k"))
    assert r.status_code == 201, r.text
    await events.drain()

    items = (await audit(client, owner, org, correlationId="req-robot"))["items"]
    (robot,) = [i for i in items if i["action"] != EXTRACTED]
    assert (robot["action"], robot["actorType"], robot["actorId"]) == (
        "content.document.uploaded",
        "api_key",
        owner.user_id,
    )

    entries = await fetch(
        database_url,
        "SELECT action, summary::text AS summary FROM content.audit_entries ORDER BY recorded_at",
    )
    (key_created,) = [e for e in entries if e["action"] == "identity.api_key_created"]
    summary = json.loads(key_created["summary"])
    assert summary["apiKeyId"] == created["id"]
    assert set(summary) == {"apiKeyId", "userId", "name", "permissions"}
    everything = " ".join(e["summary"] for e in entries)
    assert secret not in everything
    for word in ("token", "hash", "password", "secret"):
        assert word not in everything.lower()
