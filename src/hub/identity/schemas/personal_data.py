"""Bodies of the personal-data routes: the export archive and the erasure answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from hub.kernel.structs import Schema


class PersonalDataArchive(Schema):
    """Everything the hub holds about the caller, by context (docs/personal-data.md)."""

    example: ClassVar[dict[str, Any]] = {
        "format": "hub.personal-data/1",
        "userId": "0192f5d8-7c1e-7b3a-9f00-4c1d2e3f4a5b",
        "exportedAt": "2026-11-30T12:00:00Z",
        "contexts": {
            "identity": {"account": {"email": "ada@example.com"}},
            "content": {"documentsOwned": []},
        },
    }

    format: str
    user_id: uuid.UUID
    exported_at: datetime
    #: ``{context: what it holds}``: identity, content, communication, workflow.
    contexts: dict[str, dict[str, Any]]


class ErasureOut(Schema):
    status: str
    detail: str
