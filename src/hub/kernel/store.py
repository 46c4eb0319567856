"""A context's one handle on its data: reads through ``fetch``, writes through ``uow``.

Reads are single SELECTs on the lean autocommit path (:meth:`Database.fetch`); every write
goes through a unit of work bound to the context's own outbox, so a state change and the
events and jobs it publishes commit together. No ORM session exists outside a unit of work.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Result, Row, Select, Table
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import KeyedColumnElement

from hub.kernel.db import Database, UnitOfWork
from hub.kernel.pagination import Page, after_uuid, clamp_limit, page_of


class Store:
    def __init__(self, db: Database, outbox: Table) -> None:
        self.db = db
        self.outbox = outbox

    def uow(self) -> UnitOfWork:
        """A new business transaction in this context's schema."""
        return self.db.unit_of_work(self.outbox)

    async def fetch(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Result[Any]:
        """One SELECT outside any transaction, rows buffered (:meth:`Database.fetch`)."""
        return await self.db.fetch(statement, params)

    async def all(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> list[Row[Any]]:
        return list(await self.db.fetch(statement, params))

    async def first(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Row[Any] | None:
        return (await self.db.fetch(statement, params)).first()

    async def scalar(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Any:
        return (await self.db.fetch(statement, params)).scalar()

    async def page(
        self,
        statement: Select[Any],
        key: KeyedColumnElement[Any],
        *,
        limit: int | None,
        cursor: str | None,
        newest_first: bool = False,
    ) -> Page[Row[Any]]:
        """One page of ``statement`` ordered by ``key`` (a UUIDv7 id column, selected under
        its own name): ``limit`` clamped, the rows after ``cursor`` (one this method made)
        and the cursor of the next page."""
        size = clamp_limit(limit)
        stmt = statement.order_by(key.desc() if newest_first else key).limit(size + 1)
        if cursor:
            after = after_uuid(cursor)
            stmt = stmt.where(key < after if newest_first else key > after)
        return page_of(await self.all(stmt), size, lambda row: (str(getattr(row, key.key)),))
