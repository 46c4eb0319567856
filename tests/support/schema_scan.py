"""Which rows of the database still mention some ids: every table of every non-system
schema, every column whose text form could hold them (uuid, uuid[], text, varchar,
json/jsonb, text arrays), cast to text and searched for each value."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import asyncpg

#: Schemas that hold no application data.
_SYSTEM = ("pg_catalog", "information_schema", "pg_toast")
#: Column types whose text form can contain an id.
_TYPES = ("uuid", "_uuid", "text", "_text", "varchar", "_varchar", "json", "jsonb", "bpchar")


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def rows_referencing(database_url: str, values: Iterable[uuid.UUID | str]) -> dict[str, int]:
    """``{"schema.table": rows}`` for each table with at least one row whose uuid, text or
    json columns (cast to text) contain any of ``values``; tables without any are left out."""
    needles = sorted({str(v).lower() for v in values})
    if not needles:
        return {}
    patterns = [
        "%" + n.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for n in needles
    ]
    conn = await asyncpg.connect(_plain(database_url))
    try:
        columns = await conn.fetch(
            """
            SELECT n.nspname AS schema, c.relname AS table, a.attname AS column
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_type t ON t.oid = a.atttypid
            WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
              AND n.nspname <> ALL($1::text[]) AND n.nspname NOT LIKE 'pg\\_temp%'
              AND n.nspname NOT LIKE 'pg\\_toast%'
              AND t.typname = ANY($2::text[])
              AND NOT c.relispartition
            ORDER BY 1, 2, 3
            """,
            list(_SYSTEM),
            list(_TYPES),
        )
        tables: dict[tuple[str, str], list[str]] = {}
        for row in columns:
            tables.setdefault((row["schema"], row["table"]), []).append(row["column"])
        found: dict[str, int] = {}
        for (schema, table), names in tables.items():
            condition = " OR ".join(f'lower("{name}"::text) LIKE ANY($1::text[])' for name in names)
            count = await conn.fetchval(
                f'SELECT count(*) FROM "{schema}"."{table}" WHERE {condition}',  # noqa: S608
                patterns,
            )
            if count:
                found[f"{schema}.{table}"] = int(count)
        return found
    finally:
        await conn.close()
