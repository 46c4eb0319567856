"""The kit's example context (``tests/kit_example``) in the real app and a real worker.

It is added the way a new context would be (``create_app(extra_contexts=[...])``,
``context_modules(extra)``), its schema is built by its own alembic history through the
kernel's migration helper, and everything is driven from the outside: identity's HTTP API
for people, organisations, roles and keys; the example's route for notes; the worker for
its event handler and job; its CLI command with services injected.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import context_modules, create_app
from hub.kernel import migrations
from hub.kernel.commands import CommandServices
from hub.kernel.events import decode_event
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.wiring import assemble
from hub.worker import InProcessWorker
from tests.conftest import fast_job_settings
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, api_key, create_org, join, person
from tests.kit_example import bootstrap
from tests.kit_example.cli import count_notes
from tests.support import problem

EXAMPLE_MIGRATIONS = Path(bootstrap.__file__).parent / "migrations"


@pytest.fixture(scope="session")
def example_schema(database_url: str) -> None:
    """``example.*`` built by the example's own alembic history (version table
    ``example.alembic_version``), as ``hub db upgrade`` builds hub's contexts."""
    migrations.upgrade(["example"], database_url, EXAMPLE_MIGRATIONS)
    assert migrations.current("example", database_url, EXAMPLE_MIGRATIONS) == "0001"


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    # cheap password hashing: the tests sign several people up
    return base_settings.replace(password_hash_time_cost=1, password_hash_memory_kib=1024)


@pytest.fixture
async def example_clean(database_url: str, clean_state: None, example_schema: None) -> None:
    """``clean_state`` empties hub's four schemas; the example empties its own."""
    await fetch(database_url, "TRUNCATE example.notes, example.outbox, example.inbox")


@pytest.fixture
def app(settings: Settings, example_clean: None) -> Litestar:
    return create_app(settings, extra_contexts=[bootstrap.build()], configure_logs=False)


@pytest.fixture
async def worker(settings: Settings, example_clean: None) -> AsyncIterator[InProcessWorker]:
    modules = context_modules([bootstrap.build()])
    w = InProcessWorker(fast_job_settings(settings), modules, threads=2, scheduler=False).start()
    try:
        yield w
    finally:
        await asyncio.to_thread(w.stop)


async def _write(
    client: AsyncTestClient[Litestar], org: str, headers: dict[str, str], body: str
) -> Any:
    return await client.post(f"{API}/orgs/{org}/notes", json={"body": body}, headers=headers)


async def _notes(database_url: str) -> list[dict[str, Any]]:
    rows = await fetch(
        database_url,
        "SELECT id, organisation_id, author_id, body, words, announced FROM example.notes",
    )
    return [dict(r) for r in rows]


async def test_a_note_is_written_announced_and_counted_once(
    client: AsyncTestClient[Litestar],
    worker: InProcessWorker,
    database_url: str,
    settings: Settings,
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]

    r = await _write(client, org, owner.auth, "  three little words ")
    assert r.status_code == 201, r.text
    note = r.json()
    assert note == {"id": note["id"], "authorId": owner.user_id, "body": "three little words"}

    # The event left with the note, stamped by the unit of work; the job request with it.
    rows = await fetch(
        database_url, "SELECT event_type, payload FROM example.outbox ORDER BY position"
    )
    assert [row["event_type"] for row in rows] == ["example.note_written", "kernel.job_requested"]
    event, job = (json.loads(row["payload"]) for row in rows)
    assert event["noteId"] == note["id"]
    assert (event["actorId"], event["organisationId"]) == (owner.user_id, org)
    assert (job["job"], job["args"]) == ("example.count_words", [note["id"]])

    await worker.drain()
    (stored,) = await _notes(database_url)
    assert stored["words"] == 3  # the job ran
    assert stored["announced"] == 1  # the handler ran
    assert str(stored["organisation_id"]) == org
    inbox = await fetch(database_url, "SELECT handler, event_id FROM example.inbox")
    assert [(r["handler"], str(r["event_id"])) for r in inbox] == [
        ("tests.kit_example.handlers.on_note_written", event["eventId"])
    ]

    # A redelivered event is skipped by the inbox: no second effect.
    worker.background.send_event(decode_event("example.note_written", rows[0]["payload"]))
    await worker.drain()
    assert (await _notes(database_url))[0]["announced"] == 1

    # The CLI command gets the same service, built by the same factory.
    @asynccontextmanager
    async def open_kernel() -> AsyncIterator[Kernel]:
        assert settings.database_url is not None
        assert settings.redis_url is not None
        kernel = Kernel(settings, settings.database_url, settings.redis_url)
        try:
            assemble(kernel, context_modules([bootstrap.build()]))
            yield kernel
        finally:
            await kernel.close()

    result = await asyncio.to_thread(
        CliRunner().invoke, count_notes, [org], obj=CommandServices(open_kernel)
    )
    assert (result.exit_code, result.output) == (0, "1 notes\n"), result.output


async def test_the_route_follows_the_tenancy_rule(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    stranger = await person(client, database_url, "stranger@example.com")
    await create_org(client, stranger, "Elsewhere")
    r = await client.post(
        f"{API}/orgs/{org}/roles",
        json={"name": "Reader", "permissions": ["identity.org.read"]},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    reader = await join(client, database_url, org, owner, "reader@example.com", ["Reader"])

    # Not a member: the organisation does not exist for them, exactly like an unknown one.
    r = await _write(client, org, stranger.auth, "hello")
    assert r.status_code == 404
    unknown = await _write(client, str(uuid.uuid4()), stranger.auth, "hello")
    assert (problem(r)["code"], problem(r)["detail"]) == (
        problem(unknown)["code"],
        problem(unknown)["detail"],
    )
    # A member whose role lacks example.notes.write.
    r = await _write(client, org, reader.auth, "hello")
    assert r.status_code == 403
    assert problem(r)["code"] == "permission_denied"
    assert problem(r)["extra"]["permission"] == "example.notes.write"
    # An API key of the owner is narrowed to its scopes.
    scoped = await api_key(client, owner, ["identity.org.read"], organisation_id=org)
    r = await _write(client, org, {"X-API-Key": scoped["key"]}, "hello")
    assert r.status_code == 403
    writer = await api_key(client, owner, ["example.notes.write"], organisation_id=org)
    r = await _write(client, org, {"X-API-Key": writer["key"]}, "by key")
    assert r.status_code == 201, r.text
    # The domain rule, through the kernel's problem factory.
    r = await _write(client, org, owner.auth, "   ")
    assert r.status_code == 422
    assert problem(r)["errors"][0]["field"] == "body"
    r = await _write(client, org, owner.auth, "by owner")
    assert r.status_code == 201

    stored = await _notes(database_url)
    assert sorted(n["body"] for n in stored) == ["by key", "by owner"]
    assert {str(n["author_id"]) for n in stored} == {owner.user_id}
    assert {str(n["organisation_id"]) for n in stored} == {org}


async def test_the_permission_joins_the_catalogue(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    someone: Person = await person(client, database_url, "someone@example.com")
    r = await client.get(f"{API}/permissions", headers=someone.auth)
    assert r.status_code == 200, r.text
    (entry,) = [p for p in r.json()["items"] if p["key"] == "example.notes.write"]
    assert entry["context"] == "example"
