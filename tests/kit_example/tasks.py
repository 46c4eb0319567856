"""The example's jobs; services arrive by keyword-only parameter name."""

import uuid

from hub.kernel.jobs import JobContext, job
from tests.kit_example.services import COUNT_WORDS, NoteService


@job(COUNT_WORDS, max_retries=3)
async def count_words(ctx: JobContext, note_id: str, *, notes: NoteService) -> None:
    await notes.count_words(uuid.UUID(note_id))
