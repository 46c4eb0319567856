"""Public interface of the example context: the event it publishes."""

import uuid
from typing import ClassVar

from hub.kernel.events import IntegrationEvent


class NoteWritten(IntegrationEvent, frozen=True):
    event_type: ClassVar[str] = "example.note_written"
    note_id: uuid.UUID
