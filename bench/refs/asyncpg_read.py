"""A bare Litestar app reading one row by primary key from a raw asyncpg pool.

The lean yardstick for any database read. ``BENCH_DATABASE_URL`` names the database
(a libpq URL). ``BENCH_ASYNCPG_RESET=0`` skips the pool's reset query on release
(asyncpg runs ``RESET ALL``/``UNLISTEN *``/... by default: one extra round trip per
request), to show what that costs. Run: ``uvicorn --factory bench.refs.asyncpg_read:create_app``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException

from bench.fixture import SELECT_BY_ID


async def _skip_reset(_: asyncpg.Connection) -> None:
    return None


@get("/items/{item_id:int}")
async def read_item(item_id: int, state: State) -> dict[str, Any]:
    row = await state.pool.fetchrow(SELECT_BY_ID, item_id)
    if row is None:
        raise NotFoundException()
    return dict(row)


def create_app() -> Litestar:
    dsn = os.environ["BENCH_DATABASE_URL"]
    reset = None if os.environ.get("BENCH_ASYNCPG_RESET", "1") != "0" else _skip_reset

    @asynccontextmanager
    async def pool(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            dsn,
            min_size=1,
            max_size=10,
            reset=reset,
            server_settings={"application_name": "bench-asyncpg", "jit": "off"},
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    return Litestar(route_handlers=[read_item], lifespan=[pool], debug=False, logging_config=None)
