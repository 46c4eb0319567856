"""Test contexts for the event machinery: a publisher, two subscribers, an effect table.

The publisher commits in the ``content`` schema; subscribers consume in ``workflow`` and
``communication`` (their real inbox tables, migrated like in production). Each handled
event appends a row to ``kernel_test.effects`` inside the handler's transaction, so the
number of rows there is the number of times an effect really happened.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

import asyncpg
import msgspec
import redis.asyncio as aredis
from sqlalchemy import text

from hub.kernel.contexts import ContextModule
from hub.kernel.db import Database, UnitOfWork
from hub.kernel.events import IntegrationEvent
from hub.kernel.jobs import JobContext, JobSpec, job
from hub.kernel.outbox import outbox_of
from hub.kernel.scheduler import Periodic
from hub.kernel.schema import context_metadata
from hub.kernel.settings import Settings
from hub.kernel.subscribers import CatchAll, Subscription

__all__ = ["Subscription", "UnitOfWork"]

PUBLISHER = "content"


class ThingHappened(IntegrationEvent, frozen=True):
    event_type: ClassVar[str] = "content.thing_happened"
    aggregate_field: ClassVar[str | None] = "thing_id"

    thing_id: str
    n: int


async def record_effect(event: ThingHappened, uow: UnitOfWork) -> None:
    await uow.session.execute(
        text(
            "INSERT INTO kernel_test.effects (handler, event_id, thing_id, n) "
            "VALUES (:handler, :event_id, :thing_id, :n)"
        ),
        {
            "handler": uow.schema,
            "event_id": event.event_id,
            "thing_id": event.thing_id,
            "n": event.n,
        },
    )


async def record_effect_slowly_first(event: ThingHappened, uow: UnitOfWork) -> None:
    """Hangs on its first attempt (so a test can kill the worker mid-job), then records."""
    settings_url = _REDIS_URL.get("url")
    assert settings_url is not None
    client = aredis.Redis.from_url(settings_url)
    try:
        attempt = await client.incr(f"test:attempts:{event.event_id}")
        if attempt == 1:
            await client.set(f"test:started:{event.event_id}", "1")
            await asyncio.sleep(120)
    finally:
        await client.aclose()
    await record_effect(event, uow)


#: Set by processes that use :func:`record_effect_slowly_first` (it needs Redis).
_REDIS_URL: dict[str, str] = {}


def use_redis(url: str) -> None:
    _REDIS_URL["url"] = url


def module(
    name: str,
    *,
    subscriptions: Sequence[Subscription] = (),
    jobs: Sequence[JobSpec] = (),
    periodic: Sequence[Periodic] = (),
    catch_all: Sequence[CatchAll] = (),
) -> ContextModule:
    return ContextModule(
        name=name,
        metadata=context_metadata(name),
        subscriptions=subscriptions,
        jobs=jobs,
        periodic=periodic,
        catch_all=catch_all,
    )


def two_subscribers(*, slow_first: bool = False) -> list[ContextModule]:
    handler = record_effect_slowly_first if slow_first else record_effect
    return [
        module(PUBLISHER),
        module(
            "workflow",
            subscriptions=[Subscription(ThingHappened, handler, name="workflow.on_thing")],
        ),
        module(
            "communication",
            subscriptions=[Subscription(ThingHappened, handler, name="communication.on_thing")],
        ),
    ]


async def publish(db: Database, *events: IntegrationEvent, commit: bool = True) -> None:
    async with db.unit_of_work(outbox_of(PUBLISHER)) as uow:
        for event in events:
            uow.publish(event)
        if commit:
            await uow.commit()


def plain_dsn(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    assert settings.database_url is not None
    return make_url(settings.database_url).set(drivername="postgresql").render_as_string(False)


async def reset_effects(settings: Settings) -> None:
    conn = await asyncpg.connect(plain_dsn(settings))
    try:
        await conn.execute(
            """
            CREATE SCHEMA IF NOT EXISTS kernel_test;
            CREATE TABLE IF NOT EXISTS kernel_test.effects (
                id bigserial PRIMARY KEY,
                handler text NOT NULL,
                event_id uuid NOT NULL,
                thing_id text NOT NULL,
                n int NOT NULL,
                at timestamptz NOT NULL DEFAULT clock_timestamp()
            );
            CREATE TABLE IF NOT EXISTS kernel_test.job_runs (
                id bigserial PRIMARY KEY,
                job text NOT NULL,
                key text NOT NULL,
                payload jsonb
            );
            TRUNCATE kernel_test.effects, kernel_test.job_runs;
            """
        )
    finally:
        await conn.close()


async def fetch(settings: Settings, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain_dsn(settings))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def effects(settings: Settings) -> list[asyncpg.Record]:
    return await fetch(
        settings, "SELECT handler, event_id, thing_id, n FROM kernel_test.effects ORDER BY id"
    )


async def record_run(ctx: JobContext, note: str = "") -> None:
    async with ctx.kernel.db.engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO kernel_test.job_runs (job, key, payload) VALUES (:j, :k, :p)"),
            {
                "j": ctx.job,
                "k": ctx.idempotency_key,
                "p": msgspec.json.encode({"note": note}).decode(),
            },
        )


@job("workflow.record_run", max_retries=0)
async def record_run_job(ctx: JobContext, note: str = "") -> None:
    await record_run(ctx, note)


def new_thing() -> str:
    return uuid.uuid4().hex[:12]
