"""Reads of notes through the context's store: one SELECT each, no session."""

import uuid
from typing import Any

from sqlalchemy import Row, func, select

from hub.kernel.store import Store
from tests.kit_example.models import Note


async def note_by_id(store: Store, note_id: uuid.UUID) -> Row[Any] | None:
    return await store.first(select(Note.__table__).where(Note.id == note_id))


async def count_in(store: Store, org: uuid.UUID) -> int:
    return int(await store.scalar(select(func.count()).where(Note.organisation_id == org)))
