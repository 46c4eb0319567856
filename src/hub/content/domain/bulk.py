"""Bulk edit: the all-or-nothing refusal of ``POST /documents/bulk``.

Every named document is judged with the rule its single-document operation uses; when any
is refused, nothing is changed and one problem names every refused document with the
status, code and reason its own operation would have answered. The problem's status is
the most fundamental refusal among them — not found (404) before forbidden (403) before a
conflict of the document's state (409) before a rule of its values (422) — because a
client fixes them in that order: an id it cannot see is a wrong id, however the others
fare.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hub.kernel.errors import AppError
from hub.kernel.problems import field_invalid

#: Ids the problem's ``detail`` names at most.
DETAIL_IDS = 5
#: Statuses a refused document may carry, most fundamental first.
PRECEDENCE = (404, 403, 409, 422)


@dataclass(frozen=True)
class Refusal:
    """One document the operation may not be applied to, and why."""

    document_id: uuid.UUID
    status: int
    code: str
    reason: str
    #: The permission a 403 names (as the single operation's problem does).
    permission: str | None = None

    @classmethod
    def of(cls, document_id: uuid.UUID, error: AppError) -> Refusal:
        """The refusal the single-document operation raised, kept per document."""
        permission = (error.extra or {}).get("permission")
        return cls(
            document_id,
            error.status_code,
            error.code,
            error.detail,
            permission if isinstance(permission, str) else None,
        )

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.document_id),
            "status": self.status,
            "code": self.code,
            "reason": self.reason,
        }
        if self.permission is not None:
            out["permission"] = self.permission
        return out


def duplicates(ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Ids named more than once, each once, in the order first repeated."""
    seen: set[uuid.UUID] = set()
    repeated: dict[uuid.UUID, None] = {}
    for document_id in ids:
        if document_id in seen:
            repeated[document_id] = None
        seen.add(document_id)
    return list(repeated)


#: Documents one bulk download (a zip) may name.
MAX_BULK_DOWNLOAD = 100


def each_once(ids: Sequence[uuid.UUID], field: str = "documentIds", what: str = "document") -> None:
    """400 naming the ids a request lists twice: the document states ``uniqueItems``, so
    a request breaking it is malformed, not a refused rule."""
    repeated = duplicates(ids)
    if repeated:
        raise field_invalid(
            field,
            f"Each {what} at most once; repeated: " + ", ".join(map(str, repeated)),
            status_code=400,
        )


def refused(refusals: Sequence[Refusal], order: Sequence[uuid.UUID]) -> AppError:
    """The one problem answering a refused bulk edit.

    ``extra.documents`` lists every refused document (in request order) as ``{id,
    status, code, reason}`` (and ``permission`` for a 403); the status is the first of
    :data:`PRECEDENCE` present, the ``code`` that of its documents when they agree
    (``not_found``, ``permission_denied``, ``legal_hold``…), else ``bulk_refused``.
    """
    if not refusals:
        raise ValueError("nothing was refused")
    position = {document_id: i for i, document_id in enumerate(order)}
    ordered = sorted(refusals, key=lambda r: position.get(r.document_id, len(position)))
    status = next(s for s in PRECEDENCE if any(r.status == s for r in ordered))
    first = [r for r in ordered if r.status == status]
    codes = {r.code for r in first}
    code = codes.pop() if len(codes) == 1 else "bulk_refused"
    ids = ", ".join(str(r.document_id) for r in first[:DETAIL_IDS])
    if len(first) > DETAIL_IDS:  # the detail stays a sentence; extra lists them all
        ids += f" and {len(first) - DETAIL_IDS} more"
    noun = "document" if len(first) == 1 else "documents"
    reasons = {r.reason for r in first}
    why = reasons.pop() if len(reasons) == 1 else "refused"
    detail = f"Nothing was changed: {why.rstrip('.')} ({noun} {ids})."
    documents = [r.wire() for r in ordered]
    return AppError(detail, code=code, status_code=status, extra={"documents": documents})
