"""The data migration that turns single-id ``document`` values into links kept both ways
(``5b2e7c91d0a4``), on a scratch database built to the revision before it."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from uuid_utils.compat import uuid7

from hub.kernel import migrations

BEFORE = "d352f3a13e60"
LINKS = "5b2e7c91d0a4"


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(_dsn(url))
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture
def scratch_url(database_url: str) -> Iterator[str]:
    name = f"hub_links_{uuid.uuid4().hex[:12]}"
    _run(database_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _run(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _document(url: str, org: uuid.UUID, fields: dict[str, Any]) -> str:
    doc = uuid.UUID(str(uuid7()))
    now = datetime.now(UTC)
    _run(
        url,
        "INSERT INTO content.documents (id, organisation_id, owner_id, title, custom_fields,"
        " current_version, created_at, updated_at) VALUES ($1, $2, $3, 't', $4::jsonb, 1, $5, $5)",
        doc,
        org,
        uuid.uuid4(),
        json.dumps(fields),
        now,
    )
    return str(doc)


def _fields(url: str, doc: str) -> dict[str, Any]:
    rows = _run(url, "SELECT custom_fields FROM content.documents WHERE id = $1", uuid.UUID(doc))
    value: dict[str, Any] = json.loads(rows[0]["custom_fields"])
    return value


def test_single_ids_become_links_kept_both_ways(scratch_url: str) -> None:
    root = migrations.migrations_root()
    migrations.upgrade(["content"], scratch_url, root, BEFORE)
    org, other_org = uuid.uuid4(), uuid.uuid4()
    for key, kind in (("see", "document"), ("n", "integer")):
        _run(
            scratch_url,
            "INSERT INTO content.custom_fields (id, organisation_id, key, name, type)"
            " VALUES ($1, $2, $3, $3, $4)",
            uuid.uuid4(),
            org,
            key,
            kind,
        )
    target = _document(scratch_url, org, {"n": 1})
    foreign = _document(scratch_url, other_org, {})
    a = _document(scratch_url, org, {"see": target})
    b = _document(scratch_url, org, {"see": target.upper(), "n": 2})
    gone = _document(scratch_url, org, {"see": str(uuid.uuid4())})  # a deleted document's id
    elsewhere = _document(scratch_url, org, {"see": foreign})
    itself = _document(scratch_url, org, {})
    _run(
        scratch_url,
        "UPDATE content.documents SET custom_fields = jsonb_build_object('see', id::text)"
        " WHERE id = $1",
        uuid.UUID(itself),
    )

    migrations.upgrade(["content"], scratch_url, root, LINKS)
    assert _fields(scratch_url, a) == {"see": [target]}
    assert _fields(scratch_url, b) == {"see": [target], "n": 2}
    assert _fields(scratch_url, target) == {"n": 1, "see": [a, b]}
    assert _fields(scratch_url, gone) == {}
    assert _fields(scratch_url, elsewhere) == {}
    assert _fields(scratch_url, itself) == {}
    assert _fields(scratch_url, foreign) == {}

    migrations.downgrade("content", scratch_url, root, BEFORE)
    assert _fields(scratch_url, a) == {"see": target}
    assert _fields(scratch_url, target) == {"n": 1, "see": a}
