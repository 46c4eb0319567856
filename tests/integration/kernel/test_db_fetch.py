"""``Database.fetch``: the direct read path must answer exactly like ``db.read()``.

It bypasses SQLAlchemy's execution machinery, so every shape a service may send is run
both ways and compared: keys, values, Python types, lookups by column. Errors, dropped
connections and cancellation must leave the pool as usable as the regular path does.
"""

from __future__ import annotations

import asyncio
import decimal
import enum
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Enum,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Uuid,
    bindparam,
    cast,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, aliased

from hub.kernel.db import Database
from hub.kernel.errors import DependencyUnavailable

SCHEMA = "kernel_fetch_test"


class Colour(enum.Enum):
    red = "red"
    blue = "blue"


metadata = MetaData(schema=SCHEMA)
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ref", Uuid, nullable=False),
    Column("colour", Enum(Colour, name="colour", schema=SCHEMA), nullable=False),
    Column("price", Numeric(10, 2), nullable=False),
    Column("ratio", Numeric(asdecimal=False), nullable=False),
    Column("doc", JSONB, nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("note", String),
    Column("tags", ARRAY(String), nullable=False),
)


class Base(DeclarativeBase):
    metadata = metadata


class Thing(Base):
    __table__ = things


REFS = [uuid.UUID(int=i) for i in range(1, 6)]


def _plain(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


async def _drop_schema(database_url: str) -> None:
    conn = await asyncpg.connect(_plain(database_url))
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    finally:
        await conn.close()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await _drop_schema(database_url)
    setup = Database(database_url, pool_size=1, max_overflow=0)
    async with setup.engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.run_sync(metadata.create_all)
        await conn.execute(
            things.insert(),
            [
                {
                    "id": i,
                    "ref": REFS[i - 1],
                    "colour": Colour.red if i % 2 else Colour.blue,
                    "price": decimal.Decimal("1.25") * i,
                    "ratio": decimal.Decimal("2.5"),
                    "doc": {"n": i, "list": [1, 2]},
                    "seen_at": datetime(2030, 1, i, tzinfo=UTC),
                    "active": i % 2 == 0,
                    "note": None if i == 3 else f"note {i}",
                    "tags": ["a", "b"],
                }
                for i in range(1, 6)
            ],
        )
    await setup.dispose()
    database = Database(database_url, pool_size=3, max_overflow=2, application_name="fetch-test")
    try:
        yield database
    finally:
        await database.dispose()
        await _drop_schema(database_url)


other = aliased(Thing)
SHAPES: dict[str, Callable[[], Any]] = {
    "whole table by key": lambda: select(things).where(things.c.id == 2),
    "orm attributes": lambda: select(Thing.id, Thing.colour, Thing.doc).where(Thing.id == 3),
    "orm entity": lambda: select(Thing).where(Thing.id == 4),
    "in list": lambda: select(things.c.id).where(things.c.id.in_([1, 3, 5])).order_by("id"),
    "empty in list": lambda: select(things.c.id).where(things.c.id.in_([])),
    "uuid in list": lambda: select(things.c.id).where(things.c.ref.in_(REFS[:2])).order_by("id"),
    "enum filter": lambda: select(things.c.id).where(things.c.colour == Colour.blue),
    "count": lambda: select(func.count()).select_from(things),
    "labels and arithmetic": lambda: (
        select(things.c.id.label("x"), (things.c.price * 2).label("double"))
        .order_by(things.c.id)
        .limit(2)
        .offset(1)
    ),
    "same column twice": lambda: select(things.c.id, things.c.id).where(things.c.id == 1),
    "self join": lambda: (
        select(Thing.id, other.id).join(other, other.id == Thing.id).where(Thing.id == 1)
    ),
    "literals": lambda: select(literal("a"), literal(1)),
    "no rows": lambda: select(things).where(things.c.id == 99),
    "union": lambda: (
        select(things.c.id, things.c.note)
        .where(things.c.id == 1)
        .union_all(select(things.c.id, things.c.note).where(things.c.id == 3))
    ),
    "subquery": lambda: select(select(things.c.id).where(things.c.id > 3).subquery()),
}


def _typed(rows: Sequence[Any]) -> list[list[tuple[type, Any]]]:
    return [[(type(v), v) for v in row] for row in rows]


@pytest.mark.parametrize("shape", SHAPES)
async def test_fetch_answers_like_read(db: Database, shape: str) -> None:
    statement = SHAPES[shape]()
    async with db.read() as conn:
        expected = await conn.execute(statement)
        keys, rows = list(expected.keys()), expected.all()
    got = await db.fetch(statement)
    got_keys, got_rows = list(got.keys()), got.all()

    assert got_keys == keys
    assert _typed(got_rows) == _typed(rows)
    if rows:
        for column in statement.selected_columns:
            assert got_rows[0]._mapping[column] == rows[0]._mapping[column]
        for key in set(keys):
            assert getattr(got_rows[0], key) == getattr(rows[0], key)


async def test_fetch_binds_parameters_and_offers_the_result_api(db: Database) -> None:
    by_id = select(things.c.id, things.c.note).where(things.c.id == bindparam("id"))
    assert (await db.fetch(by_id, {"id": 2})).mappings().one() == {"id": 2, "note": "note 2"}
    assert (await db.fetch(by_id, {"id": 3})).one().note is None
    assert (await db.fetch(by_id, {"id": 42})).one_or_none() is None
    ids = select(things.c.id).order_by(things.c.id.desc())
    assert (await db.fetch(ids)).scalars().all() == [5, 4, 3, 2, 1]
    assert (await db.fetch(select(func.max(things.c.price)))).scalar_one() == decimal.Decimal(
        "6.25"
    )


async def test_fetch_takes_textual_sql_through_the_regular_path(db: Database) -> None:
    sql = text("SELECT id FROM kernel_fetch_test.things WHERE id < :n")
    rows = (await db.fetch(sql, {"n": 3})).all()
    assert sorted(r.id for r in rows) == [1, 2]


async def test_fetch_raises_what_read_raises_and_keeps_the_pool_usable(db: Database) -> None:
    bad = select(cast(literal("x"), Integer))
    async with db.read() as conn:
        with pytest.raises(DBAPIError) as regular:
            await conn.execute(bad)
    with pytest.raises(DBAPIError) as direct:
        await db.fetch(bad)
    assert str(direct.value) == str(regular.value)
    assert "invalid input syntax for type integer" in str(direct.value)
    assert not direct.value.connection_invalidated
    await _every_connection_answers(db)


async def _every_connection_answers(db: Database) -> None:
    """As many reads at once as the pool holds, each answered (none stuck or broken)."""
    answers = await asyncio.gather(*(db.fetch(select(literal(i))) for i in range(3)))
    assert [r.scalar_one() for r in answers] == [0, 1, 2]


async def test_fetch_recovers_when_the_server_drops_the_connection(
    db: Database, database_url: str
) -> None:
    await _every_connection_answers(db)
    killer = Database(database_url, application_name="fetch-test-killer")
    try:
        async with killer.read() as conn:
            killed = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'fetch-test'"
                )
            )
    finally:
        await killer.dispose()
    assert killed >= 3

    # Dropped pooled connections are replaced and the read is retried on a fresh one:
    # no caller sees the drop.
    by_id = select(things.c.id).where(things.c.id == 1)
    assert (await db.fetch(by_id)).scalar_one() == 1
    await _every_connection_answers(db)


async def test_fetch_with_echo_logs_its_sql(
    db: Database, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    echoing = Database(database_url, echo=True, application_name="fetch-test")
    try:
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
            row = (await echoing.fetch(select(things.c.note).where(things.c.id == 2))).one()
    finally:
        await echoing.dispose()
    assert row.note == "note 2"
    assert any("kernel_fetch_test.things" in r.getMessage() for r in caplog.records)


async def test_fetch_reports_an_unreachable_server(database_url: str) -> None:
    """As the dependency being unavailable (a 503 for a request), on both paths."""
    gone = make_url(database_url).set(host="127.0.0.1", port=1, query={})
    db = Database(gone.render_as_string(False), application_name="fetch-test")
    try:
        with pytest.raises(DependencyUnavailable) as direct:
            await db.fetch(select(literal(1)))
        assert isinstance(direct.value.__cause__, OSError)
        assert re.search(r"Connect call failed|refused", str(direct.value.__cause__))
        with pytest.raises(DependencyUnavailable) as regular:
            async with db.read() as conn:
                await conn.execute(select(literal(1)))
        assert direct.value.dependency == regular.value.dependency == "database"
    finally:
        await db.dispose()


async def test_cancelled_fetch_leaves_no_busy_connection_behind(db: Database) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(db.fetch(select(func.pg_sleep(30))), timeout=0.3)
    await _every_connection_answers(db)


async def test_more_concurrent_fetches_than_connections(db: Database) -> None:
    by_id = select(things.c.id).where(things.c.id == bindparam("id"))
    results = await asyncio.gather(*(db.fetch(by_id, {"id": 1 + i % 5}) for i in range(40)))
    assert [r.scalar_one() for r in results] == [1 + i % 5 for i in range(40)]


async def test_fetch_holds_no_more_connections_than_the_pool_size(
    db: Database, database_url: str
) -> None:
    by_id = select(things.c.id).where(things.c.id == bindparam("id"))
    await asyncio.gather(*(db.fetch(by_id, {"id": 1}) for _ in range(30)))
    conn = await asyncpg.connect(_plain(database_url))
    try:
        held = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fetch-test'"
        )
    finally:
        await conn.close()
    assert 1 <= held <= 3  # pool_size: excess reads waited instead of connecting
