"""Content's part of a person's export (GDPR Articles 15 and 20): the documents they own
(metadata, not the files: each is downloadable through the documents API), the versions
they uploaded, their notes, what is shared with them, the share links they made, and the
audit entries recording what they did."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from hub.kernel.personal_data import PersonalDataApi, records
from hub.kernel.store import Store

#: Audit entries exported at most (the newest); the rest through GET /audit/export.
MAX_AUDIT_ENTRIES = 10_000

_DOCUMENTS = text(
    "SELECT id, organisation_id, title, document_type_id, custom_fields, current_version,"
    " restricted, legal_hold, created_at, updated_at, trashed_at FROM content.documents"
    " WHERE owner_id = :user_id ORDER BY created_at"
)
_VERSIONS = text(
    "SELECT document_id, version, file_name, media_type, size, sha256, comment, created_at"
    " FROM content.document_versions WHERE created_by = :user_id ORDER BY created_at"
)
_NOTES = text(
    "SELECT id, document_id, body, created_at FROM content.notes WHERE author_id = :user_id"
    " ORDER BY created_at"
)
_SHARED = text(
    "SELECT document_id, access FROM content.document_shares"
    " WHERE subject_kind = 'user' AND subject_id = :user_id ORDER BY document_id"
)
_SHARE_LINKS = text(
    "SELECT id, document_id, version, created_at, expires_at, revoked_at, last_used_at,"
    " use_count FROM content.share_links WHERE created_by = :user_id ORDER BY created_at"
)
_SAVED_VIEWS = text(
    "SELECT id, organisation_id, name, filters, sort, shared, created_at, updated_at"
    " FROM content.saved_views WHERE owner_id = :user_id ORDER BY created_at"
)
_AUDIT = text(
    "SELECT id, occurred_at, organisation_id, action, entity_type, entity_id, summary,"
    " client_address FROM content.audit_entries WHERE actor_id = :user_id"
    " ORDER BY occurred_at DESC LIMIT :limit"
)


@dataclass(eq=False)
class ContentPersonalData(PersonalDataApi):
    store: Store

    async def export_personal_data(self, user_id: uuid.UUID) -> dict[str, Any]:
        params: dict[str, Any] = {"user_id": user_id}
        return {
            "documentsOwned": records(await self.store.all(_DOCUMENTS, params)),
            "versionsUploaded": records(await self.store.all(_VERSIONS, params)),
            "notes": records(await self.store.all(_NOTES, params)),
            "documentsSharedWithYou": records(await self.store.all(_SHARED, params)),
            "shareLinks": records(await self.store.all(_SHARE_LINKS, params)),
            "savedViews": records(await self.store.all(_SAVED_VIEWS, params)),
            "auditEntries": records(
                await self.store.all(_AUDIT, {**params, "limit": MAX_AUDIT_ENTRIES})
            ),
        }
