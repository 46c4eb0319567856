"""Events the example consumes, each in a transaction the kernel commits with its inbox row."""

from sqlalchemy import update

from hub.kernel.db import UnitOfWork
from tests.kit_example.api import NoteWritten
from tests.kit_example.models import Note


async def on_note_written(event: NoteWritten, uow: UnitOfWork) -> None:
    bump = update(Note).filter_by(id=event.note_id).values(announced=Note.announced + 1)
    await uow.session.execute(bump)
