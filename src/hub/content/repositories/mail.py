"""Mail accounts, mail rules and the mails they dealt with: the reads of
``services.mail_accounts`` and ``services.mail_fetch``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, Table, delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.models import MailAccount, MailProcessed, MailRule
from hub.kernel.pagination import after_uuid
from hub.kernel.store import Store

accounts = cast(Table, MailAccount.__table__)
rules = cast(Table, MailRule.__table__)
processed = cast(Table, MailProcessed.__table__)


async def page(
    store: Store, table: Table, organisation_id: uuid.UUID, *, limit: int, cursor: str | None
) -> list[Row[Any]]:
    """``limit + 1`` of the organisation's accounts or rules (``table``), oldest first."""
    query = (
        select(table)
        .where(table.c.organisation_id == organisation_id)
        .order_by(table.c.id)
        .limit(limit + 1)
    )
    if cursor:
        query = query.where(table.c.id > after_uuid(cursor))
    return await store.all(query)


async def one(
    store: Store, table: Table, organisation_id: uuid.UUID, row_id: uuid.UUID
) -> Row[Any] | None:
    """One account or rule (``table``), if it is the organisation's."""
    return await store.first(
        select(table).where(table.c.id == row_id, table.c.organisation_id == organisation_id)
    )


async def count(session: AsyncSession, table: Table, organisation_id: uuid.UUID) -> int:
    found = await session.scalar(
        select(func.count()).select_from(table).where(table.c.organisation_id == organisation_id)
    )
    return int(found or 0)


async def processed_page(
    store: Store, rule_id: uuid.UUID, *, limit: int, after: tuple[datetime, int] | None
) -> list[Row[Any]]:
    """``limit + 1`` mails the rule dealt with, the latest first."""
    p = processed
    query = (
        select(p)
        .where(p.c.rule_id == rule_id)
        .order_by(p.c.processed_at.desc(), p.c.uid.desc())
        .limit(limit + 1)
    )
    if after is not None:
        at, uid = after
        query = query.where(tuple_(p.c.processed_at, p.c.uid) < tuple_(at, uid))
    return await store.all(query)


async def forget_skipped(session: AsyncSession, rule_id: uuid.UUID) -> None:
    """The rule's next run looks at the mails it skipped again."""
    p = processed
    await session.execute(delete(p).where(p.c.rule_id == rule_id, p.c.status == "skipped"))


async def due_accounts(store: Store, now: datetime, poll_minutes: int) -> list[Row[Any]]:
    """Enabled accounts not read for ``poll_minutes`` and not being read."""
    a = accounts
    return await store.all(
        select(a.c.id).where(
            a.c.enabled.is_(True),
            (a.c.last_checked_at.is_(None))
            | (a.c.last_checked_at <= now - timedelta(minutes=poll_minutes)),
            (a.c.lease_until.is_(None)) | (a.c.lease_until <= now),
        )
    )


async def enabled_rules(store: Store, account_id: uuid.UUID) -> list[Row[Any]]:
    r = rules
    return await store.all(
        select(r)
        .where(r.c.account_id == account_id, r.c.enabled.is_(True))
        .order_by(r.c.position, r.c.id)
    )


async def seen_uids(store: Store, rule_id: uuid.UUID, validity: int, uids: list[int]) -> set[int]:
    """Which of ``uids`` (a thousand at most) the rule dealt with under ``validity``."""
    p = processed
    rows = await store.all(
        select(p.c.uid).where(
            p.c.rule_id == rule_id, p.c.uid_validity == validity, p.c.uid.in_(uids)
        )
    )
    return {row.uid for row in rows}
