"""The example's use cases: the only place its rules run."""

import uuid
from collections.abc import Callable

from sqlalchemy import update

from hub.identity.api import Membership
from hub.kernel.store import Store
from tests.kit_example import domain, repositories
from tests.kit_example.api import NoteWritten
from tests.kit_example.models import Note

COUNT_WORDS = "example.count_words"  # the job (tasks.py) is queued by name


class NoteService:
    def __init__(self, store: Store, queue_job: Callable[..., uuid.UUID]) -> None:
        self.store, self.queue_job = store, queue_job

    async def write(self, member: Membership, raw_body: str) -> Note:
        """Decide, write, publish and queue a job: all or nothing, in one transaction."""
        body = domain.clean_body(raw_body)
        note = Note(organisation_id=member.organisation_id, author_id=member.user_id, body=body)
        async with self.store.uow() as uow:
            uow.session.add(note)
            await uow.session.flush()
            uow.publish(NoteWritten(note_id=note.id))  # actor and organisation stamped
            self.queue_job(uow, COUNT_WORDS, str(note.id))  # sent once this commits
            await uow.commit()
        return note

    async def count_words(self, note_id: uuid.UUID) -> None:
        """Load, decide, write; a second run changes nothing (jobs are at-least-once)."""
        note = await repositories.note_by_id(self.store, note_id)
        async with self.store.uow() as uow:
            words = domain.word_count(note.body) if note else None
            await uow.session.execute(update(Note).filter_by(id=note_id).values(words=words))
            await uow.commit()

    async def count(self, organisation_id: uuid.UUID) -> int:
        return await repositories.count_in(self.store, organisation_id)
