"""Every row of every table that mentions given values: proof that an erasure or an
organisation's deletion left nothing behind.

Scans every ordinary table (and partitioned parent; partitions are read through it) of
every schema but PostgreSQL's own, each ``uuid``, ``uuid[]``, text-like and ``json``/
``jsonb`` column read as text, case-insensitively.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import asyncpg
from sqlalchemy.engine import make_url

_COLUMNS = """
SELECT n.nspname AS schema, c.relname AS table, a.attname AS column
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
  AND t.typname IN ('uuid', '_uuid', 'text', '_text', 'varchar', '_varchar', 'bpchar',
                    'citext', 'json', 'jsonb', 'name', 'inet')
ORDER BY 1, 2, a.attnum
"""


def _dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def rows_referencing(database_url: str, values: Iterable[uuid.UUID | str]) -> dict[str, int]:
    """``{"schema.table": rows}`` for each table with a row mentioning any of ``values``
    in any of the scanned columns (tables without one are left out)."""
    needles = sorted({str(v).lower() for v in values})
    if not needles:
        return {}
    conn = await asyncpg.connect(_dsn(database_url))
    try:
        columns: dict[tuple[str, str], list[str]] = {}
        for row in await conn.fetch(_COLUMNS):
            columns.setdefault((row["schema"], row["table"]), []).append(row["column"])
        found: dict[str, int] = {}
        for (schema, table), names in columns.items():
            mentions = " OR ".join(f"strpos(lower({_quote(c)}::text), n) > 0" for c in names)
            count = await conn.fetchval(
                f"SELECT count(*) FROM {_quote(schema)}.{_quote(table)}"  # noqa: S608
                f" WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) AS n WHERE {mentions})",
                needles,
            )
            if count:
                found[f"{schema}.{table}"] = int(count)
        return found
    finally:
        await conn.close()
