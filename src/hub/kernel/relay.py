"""The relay: moves committed outbox rows to the broker, in order per aggregate.

Claiming. A batch is the oldest unpublished rows of one schema's outbox, taken with
``FOR UPDATE SKIP LOCKED`` inside a transaction that stays open while the rows are sent
and marked published. Several relays (several ``hub worker`` processes, ``hub run`` next
to a worker) therefore never send the same row at the same time, and a relay that dies
mid-batch releases its rows to the others by dying (its transaction rolls back).

Order per aggregate. Skipping locked rows alone could let a second relay send an
aggregate's later event while the first still holds its earlier one. So a batch leaves
out every row whose aggregate has an older unpublished row outside the batch (held by
another relay, or not sent yet); those go out in a later pass, after it. The check scans
only the unpublished rows below the batch's last position (the partial index
``ix_outbox_pending``), which is what the other relays hold, so it stays cheap under a
backlog. Within a batch rows are sent in position order and sending stops at the first
failure, so a failed row is never overtaken by a later one.

Waking. The unit of work runs ``pg_notify('hub_outbox', schema)`` in the committing
transaction; the relay LISTENs on a dedicated connection and drains as soon as a
notification arrives, so under normal load nothing waits for the periodic sweep (every
``HUB_RELAY_SWEEP_INTERVAL_MS``), which only covers lost notifications and retries.

Outages. When the broker (Redis) is unreachable nothing is marked: the rows stay in the
outbox (``attempts``/``last_error`` record the trouble), the API keeps committing, and the
relay retries with backoff until Redis is back. Delivery is at-least-once: a relay that
dies after sending but before its commit sends those rows again, which consumers absorb
through their inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg  # type: ignore[import-untyped]
import structlog
from sqlalchemy import BigInteger, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url

from hub.kernel import telemetry
from hub.kernel.background import Background, OutboxRow
from hub.kernel.db import Database
from hub.kernel.outbox import OUTBOX_CHANNEL
from hub.kernel.schema import require_context_schema

log = structlog.get_logger("hub.relay")

_CLAIM = """
WITH batch AS MATERIALIZED (
    SELECT position, event_id, event_type, aggregate_key, payload, correlation_id, created_at
    FROM "{schema}".outbox
    WHERE published_at IS NULL
    ORDER BY position
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
), blocked AS (
    SELECT o.aggregate_key, min(o.position) AS first_position
    FROM "{schema}".outbox o
    WHERE o.published_at IS NULL
      AND o.position < (SELECT max(position) FROM batch)
      AND NOT EXISTS (SELECT 1 FROM batch b WHERE b.position = o.position)
    GROUP BY o.aggregate_key
)
SELECT b.position, b.event_id::text AS event_id, b.event_type, b.aggregate_key,
       b.payload::text AS payload, b.correlation_id,
       extract(epoch FROM b.created_at)::float8 AS created_at,
       (SELECT count(*) FROM batch) AS claimed
FROM batch b LEFT JOIN blocked k ON k.aggregate_key = b.aggregate_key
WHERE k.first_position IS NULL OR k.first_position > b.position
ORDER BY b.position
"""

_MARK_SENT = """
UPDATE "{schema}".outbox
SET published_at = now(), attempts = attempts + 1, last_error = NULL
WHERE position = ANY(:positions)
"""

_MARK_FAILED = """
UPDATE "{schema}".outbox
SET attempts = attempts + 1, last_error = :error
WHERE position = ANY(:positions)
"""

_STATUS = """
SELECT count(*) AS pending,
       coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS lag
FROM "{schema}".outbox
WHERE published_at IS NULL
"""


@dataclass(frozen=True)
class OutboxStatus:
    schema: str
    pending: int
    lag_s: float


class RelayError(RuntimeError):
    """Rows could not be handed to the broker; they stay in the outbox."""


def _sql(template: str, schema: str) -> str:
    return template.format(schema=require_context_schema(schema))


async def outbox_status(db: Database, schema: str) -> OutboxStatus:
    async with db.read() as conn:
        row = (await conn.execute(text(_sql(_STATUS, schema)))).one()
    return OutboxStatus(schema=schema, pending=int(row.pending), lag_s=float(row.lag))


def listen_dsn(database_url: str) -> str:
    """The asyncpg DSN of a SQLAlchemy URL (the LISTEN connection is raw asyncpg)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


class Relay:
    def __init__(
        self,
        db: Database,
        background: Background,
        schemas: Sequence[str],
        *,
        batch_size: int = 500,
        run_size: int = 50,
        sweep_interval_s: float = 1.0,
        coalesce_s: float = 0.0,
        listen: bool = True,
    ) -> None:
        self.db = db
        self.background = background
        self.schemas = tuple(schemas)
        self.batch_size = batch_size
        self.run_size = run_size
        self.coalesce_s = coalesce_s
        self.sweep_interval_s = sweep_interval_s
        self.listen = listen
        self._wake = asyncio.Event()
        self.listening = asyncio.Event()

    # ------------------------------------------------------------------ one pass

    async def relay_batch(self, schema: str) -> tuple[int, bool]:
        """Claim, send and mark one batch; returns (rows published, maybe more waiting)."""
        async with self.db.engine.begin() as conn:
            result = await conn.execute(text(_sql(_CLAIM, schema)), {"limit": self.batch_size})
            rows = result.all()
            if not rows:
                return 0, False
            claimed = int(rows[0].claimed)
            batch = [
                OutboxRow(
                    schema=schema,
                    position=r.position,
                    event_id=r.event_id,
                    event_type=r.event_type,
                    aggregate_key=r.aggregate_key,
                    payload=r.payload,
                    correlation_id=r.correlation_id,
                    created_at=r.created_at,
                )
                for r in rows
            ]
            sent, error = await asyncio.to_thread(self._send, batch)
            positions = bindparam("positions", type_=ARRAY(BigInteger))
            if sent:
                await conn.execute(
                    text(_sql(_MARK_SENT, schema)).bindparams(positions),
                    {"positions": [row.position for row in batch[:sent]]},
                )
            if error is not None:
                await conn.execute(
                    text(_sql(_MARK_FAILED, schema)).bindparams(positions),
                    {
                        "positions": [batch[sent].position],
                        "error": f"{type(error).__name__}: {error}"[:1000],
                    },
                )
        for row in batch[:sent]:
            telemetry.EVENTS_PUBLISHED.labels(schema, row.event_type).inc()
        if error is not None:
            telemetry.RELAY_ERRORS.labels(schema).inc()
            raise RelayError(f"{schema}: {type(error).__name__}: {error}") from error
        return sent, claimed >= self.batch_size

    def _send(self, batch: list[OutboxRow]) -> tuple[int, BaseException | None]:
        """Enqueue in order; stop at the first failure. Returns the rows fully sent."""
        broker = self.background.broker
        sent = 0
        for rows, messages in self.background.plan(batch, run_size=self.run_size):
            try:
                for msg, delay in messages:
                    broker.enqueue(msg, delay=delay)
            except Exception as exc:
                return sent, exc
            sent += rows
        return sent, None

    async def drain(self) -> int:
        """Relay until every schema's outbox has nothing claimable; rows published.

        Raises :class:`RelayError` (after trying every schema) when the broker failed.
        """
        total = 0
        errors: list[RelayError] = []
        for schema in self.schemas:
            while True:
                try:
                    moved, more = await self.relay_batch(schema)
                except RelayError as exc:
                    errors.append(exc)
                    break
                total += moved
                if not more:
                    break
        if errors:
            raise errors[0]
        return total

    async def update_gauges(self) -> list[OutboxStatus]:
        statuses = [await outbox_status(self.db, schema) for schema in self.schemas]
        for status in statuses:
            telemetry.OUTBOX_PENDING.labels(status.schema).set(status.pending)
            telemetry.OUTBOX_LAG.labels(status.schema).set(status.lag_s)
        return statuses

    # ------------------------------------------------------------------ loop

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Drain on every notification and every sweep until ``stop`` is set."""
        listener = asyncio.create_task(self._listen(stop)) if self.listen else None
        failures = 0
        last_gauges = 0.0
        last_pass = 0.0
        try:
            while not stop.is_set():
                self._wake.clear()
                last_pass = time.monotonic()
                try:
                    await self.drain()
                    if failures:
                        log.info("relay_recovered", after_failures=failures)
                    failures = 0
                except RelayError as exc:
                    failures += 1
                    if failures == 1 or failures % 30 == 0:
                        log.warning("relay_broker_unavailable", error=str(exc), failures=failures)
                except Exception:
                    failures += 1
                    log.exception("relay_pass_failed")
                now = time.monotonic()
                if now - last_gauges >= self.sweep_interval_s:
                    last_gauges = now
                    with contextlib.suppress(Exception):
                        await self.update_gauges()
                if failures:
                    # Back off while the broker or database is down; a notification
                    # cannot help then, so only the timer wakes the next attempt.
                    await _wait_any(stop, None, min(self.sweep_interval_s, 0.05 * 2**failures))
                else:
                    await _wait_any(stop, self._wake, self.sweep_interval_s)
                    busy = time.monotonic() - last_pass < 5 * self.coalesce_s
                    if self._wake.is_set() and busy:
                        # Commits are arriving faster than every few coalescing windows:
                        # let the next ones join this pass, so one message and one
                        # consumer transaction carry a run of events instead of one
                        # each (measured: ~4x less CPU per event), for a few
                        # milliseconds of latency. A lone commit is relayed at once.
                        await asyncio.sleep(self.coalesce_s)
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener

    async def _listen(self, stop: asyncio.Event) -> None:
        dsn = listen_dsn(self.db.url)
        delay = 0.1
        while not stop.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(dsn, timeout=5)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(OUTBOX_CHANNEL, lambda *_: self._wake.set())
                self.listening.set()
                self._wake.set()  # anything committed while we were not listening
                delay = 0.1
                await _wait_any(stop, lost, None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("relay_listen_failed", error=f"{type(exc).__name__}: {exc}")
            finally:
                self.listening.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), timeout=2)
            if not stop.is_set():
                await _wait_any(stop, None, delay)
                delay = min(delay * 2, 5.0)


async def _wait_any(
    stop: asyncio.Event, other: asyncio.Event | None, seconds: float | None
) -> None:
    """Wait until ``stop`` or ``other`` is set, or ``seconds`` pass."""
    waiters = [asyncio.ensure_future(stop.wait())]
    if other is not None:
        waiters.append(asyncio.ensure_future(other.wait()))
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
