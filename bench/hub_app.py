"""The hub as production builds it, plus bench-only routes that read through the kernel.

The hub has no business read endpoint that needs no login, so this factory adds routes
that read one row of the bench table by primary key — the shape of most hub reads — and
otherwise runs ``hub.app.create_app()`` unchanged (settings from ``HUB_*``, every context,
every middleware). Run: ``uvicorn --factory bench.hub_app:create_app``.

* ``/bench/read/{id}`` — ``kernel.db.read()`` + ``conn.execute()``: the kernel's AUTOCOMMIT
  read path, a statement built per request as services write them.
* ``/bench/fetch/{id}`` — ``kernel.db.fetch()``, the direct read path, same statement.
* ``/bench/fetch-prebuilt/{id}`` — ``kernel.db.fetch()`` of a module-level statement with
  a ``bindparam``: nothing is built or hashed per request.
* ``/bench/fetch-lean/{id}`` — the prebuilt read on a route excluded from the Prometheus
  metrics (run with ``BENCH_HUB_ACCESS_LOG=0``: the hub's read with its per-request
  extras off, to show where the rest of the cost is).
* ``/bench/session/{id}`` — an ORM session per request (BEGIN…ROLLBACK around the read),
  the common SQLAlchemy pattern the read paths exist to avoid; kept as a yardstick.
* ``/bench/raw/{id}`` — the raw asyncpg read of ``bench/refs/asyncpg_read.py`` (its own
  pool, ``pool.fetchrow``) inside the hub: what a read costs in this process with no
  kernel code at all, so the kernel's share can be told from the surroundings'.
* ``/bench/echo/{id}`` — the same route and answer without the read: what the hub costs
  around any API route, so the read's own share can be told apart.
* ``/bench/echo-unmetered/{id}`` — the same, excluded from the Prometheus metrics.

``BENCH_HUB_ACCESS_LOG=0`` silences the per-request access log line (there is no hub
setting for that yet), to measure what the line costs.
"""

from __future__ import annotations

import os
from typing import Any

import asyncpg
from litestar import Litestar, get
from litestar.datastructures import State
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, select

from bench.fixture import SCHEMA, SELECT_BY_ID, TABLE
from hub.app import create_app as create_hub_app
from hub.kernel.errors import NotFound
from hub.kernel.logging import RequestContextMiddleware
from hub.kernel.runtime import Kernel
from hub.kernel.structs import Schema

items = Table(
    TABLE,
    MetaData(schema=SCHEMA),
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False),
    Column("quantity", Integer, nullable=False),
)
_columns = select(items.c.id, items.c.name, items.c.quantity)
_by_id = _columns.where(items.c.id == bindparam("item_id"))


class Item(Schema):
    id: int
    name: str
    quantity: int


def _item(row: Any) -> Item:
    if row is None:
        raise NotFound("No such item.")
    return Item(id=row.id, name=row.name, quantity=row.quantity)


@get("/bench/read/{item_id:int}", operation_id="benchRead", include_in_schema=False)
async def read_item(item_id: int, state: State) -> Item:
    kernel: Kernel = state.kernel
    async with kernel.db.read() as conn:
        row = (await conn.execute(_columns.where(items.c.id == item_id))).one_or_none()
    return _item(row)


@get("/bench/fetch/{item_id:int}", operation_id="benchFetch", include_in_schema=False)
async def fetch_item(item_id: int, state: State) -> Item:
    kernel: Kernel = state.kernel
    return _item((await kernel.db.fetch(_columns.where(items.c.id == item_id))).one_or_none())


@get(
    "/bench/fetch-prebuilt/{item_id:int}",
    operation_id="benchFetchPrebuilt",
    include_in_schema=False,
)
async def fetch_item_prebuilt(item_id: int, state: State) -> Item:
    kernel: Kernel = state.kernel
    return _item((await kernel.db.fetch(_by_id, {"item_id": item_id})).one_or_none())


@get(
    "/bench/fetch-lean/{item_id:int}",
    operation_id="benchFetchLean",
    include_in_schema=False,
    opt={"exclude_from_metrics": True},
)
async def fetch_item_lean(item_id: int, state: State) -> Item:
    kernel: Kernel = state.kernel
    return _item((await kernel.db.fetch(_by_id, {"item_id": item_id})).one_or_none())


@get("/bench/session/{item_id:int}", operation_id="benchSession", include_in_schema=False)
async def read_item_session(item_id: int, state: State) -> Item:
    kernel: Kernel = state.kernel
    async with kernel.db.sessionmaker() as session:
        row = (await session.execute(_columns.where(items.c.id == item_id))).one_or_none()
    return _item(row)


@get("/bench/raw/{item_id:int}", operation_id="benchRaw", include_in_schema=False)
async def raw_item(item_id: int, state: State) -> dict[str, Any]:
    row = await state.bench_pool.fetchrow(SELECT_BY_ID, item_id)
    if row is None:
        raise NotFound("No such item.")
    return dict(row)


async def _open_raw_pool(app: Litestar) -> None:
    # The reference's pool, as bench/refs/asyncpg_read.py builds it.
    app.state.bench_pool = await asyncpg.create_pool(
        os.environ["BENCH_DATABASE_URL"],
        min_size=1,
        max_size=10,
        server_settings={"application_name": "bench-hub-raw", "jit": "off"},
    )


async def _close_raw_pool(app: Litestar) -> None:
    await app.state.bench_pool.close()


@get("/bench/echo/{item_id:int}", operation_id="benchEcho", include_in_schema=False)
async def echo_item(item_id: int) -> Item:
    return Item(id=item_id, name=f"item-{item_id:04d}", quantity=item_id * 7 % 100)


@get(
    "/bench/echo-unmetered/{item_id:int}",
    operation_id="benchEchoUnmetered",
    include_in_schema=False,
    opt={"exclude_from_metrics": True},
)
async def echo_item_unmetered(item_id: int) -> Item:
    return Item(id=item_id, name=f"item-{item_id:04d}", quantity=item_id * 7 % 100)


class _Silent:
    def info(self, *args: Any, **kwargs: Any) -> None:
        return None


def create_app() -> Litestar:
    app = create_hub_app(
        extra_route_handlers=[
            read_item,
            fetch_item,
            fetch_item_prebuilt,
            fetch_item_lean,
            read_item_session,
            echo_item,
            echo_item_unmetered,
            raw_item,
        ]
    )
    app.on_startup.append(_open_raw_pool)
    app.on_shutdown.append(_close_raw_pool)
    if os.environ.get("BENCH_HUB_ACCESS_LOG") == "0":
        handler = app.asgi_handler
        if not isinstance(handler, RequestContextMiddleware):
            raise RuntimeError("the access log middleware moved; update bench/hub_app.py")
        handler.log = _Silent()
    return app
