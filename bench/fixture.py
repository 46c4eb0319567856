"""The small table every database-backed scenario reads, in a scratch schema.

It lives in its own ``bench`` schema, outside every context, so the harness never
touches a context's tables or its migrations. The hub and the raw-asyncpg reference
read the same rows with the same SQL, so they differ only in the path the query takes.
"""

from __future__ import annotations

import asyncpg

SCHEMA = "bench"
TABLE = "items"
ROWS = 1_000
#: The row every read scenario asks for (any id in 1..ROWS answers the same way).
READ_ID = 421

#: What the raw reference runs; the hub's SQLAlchemy Core select compiles to the same.
SELECT_BY_ID = f"SELECT id, name, quantity FROM {SCHEMA}.{TABLE} WHERE id = $1"


async def ensure_table(dsn: str) -> None:
    """Create and fill the table once; later runs reuse it as it is."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{TABLE} ("
            " id integer PRIMARY KEY, name text NOT NULL, quantity integer NOT NULL)"
        )
        count = await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.{TABLE}")
        if count != ROWS:
            await conn.execute(f"TRUNCATE {SCHEMA}.{TABLE}")
            await conn.executemany(
                f"INSERT INTO {SCHEMA}.{TABLE} (id, name, quantity) VALUES ($1, $2, $3)",
                [(i, f"item-{i:04d}", i * 7 % 100) for i in range(1, ROWS + 1)],
            )
            await conn.execute(f"ANALYZE {SCHEMA}.{TABLE}")
    finally:
        await conn.close()
