"""A context's one handle on its data: reads through ``fetch``, writes through ``uow``.

Reads are single SELECTs on the lean autocommit path (:meth:`Database.fetch`); every write
goes through a unit of work bound to the context's own outbox, so a state change and the
events and jobs it publishes commit together. No ORM session exists outside a unit of work.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Result, Row, Table
from sqlalchemy.sql import Executable

from hub.kernel.db import Database, UnitOfWork


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
