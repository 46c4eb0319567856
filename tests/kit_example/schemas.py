"""HTTP bodies of the example context (camelCase on the wire)."""

import uuid

from hub.kernel.structs import Schema


class NoteIn(Schema):
    body: str


class NoteOut(Schema):
    id: uuid.UUID
    author_id: uuid.UUID
    body: str
