"""In-process implementation of :class:`hub.content.api.ContentApi`.

Another context (workflow, intelligence) reads documents and asks the document rule
here; a split-out content service would answer the same calls over HTTP.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from hub.content.api import (
    ContentApi,
    CorpusDocument,
    DocumentSummary,
    SelectField,
    Taxonomy,
    TaxonomyItem,
)
from hub.content.domain.access import Action, Facts, caller_of, capabilities
from hub.content.repositories import corpus, documents
from hub.content.services.documents import DocumentService
from hub.identity.api import IdentityApi
from hub.kernel.store import Store


class ContentFacade(ContentApi):
    def __init__(self, store: Store, identity: IdentityApi, service: DocumentService) -> None:
        self.store = store
        self.identity = identity
        self.service = service

    async def document(self, document_id: uuid.UUID) -> DocumentSummary | None:
        row = await documents.by_id(self.store, document_id)
        if row is None:
            return None
        tags = (await documents.tags_of(self.store, [row.id]))[row.id]
        return DocumentSummary(
            id=row.id,
            organisation_id=row.organisation_id,
            owner_id=row.owner_id,
            title=row.title,
            file_name=row.file_name,
            media_type=row.media_type,
            size=row.size,
            version=row.current_version,
            tags=tuple(t["name"] for t in tags),
            document_type_id=row.document_type_id,
            custom_fields=row.custom_fields,
            restricted=row.restricted,
            legal_hold=row.legal_hold,
            created_at=row.created_at,
            updated_at=row.updated_at,
            trashed_at=row.trashed_at,
        )

    async def _may(self, user_id: uuid.UUID, document_id: uuid.UUID, action: Action) -> bool:
        row = await documents.by_id(self.store, document_id)
        if row is None:
            return False
        membership = await self.identity.membership(row.organisation_id, user_id, api_key_id=None)
        if membership is None:
            return False
        caller = caller_of(membership)
        share = await documents.share_for(self.store, row.id, caller)
        facts = Facts(owner_id=row.owner_id, restricted=row.restricted, share=share)
        return action in capabilities(caller, facts)

    async def may_read(self, user_id: uuid.UUID, document_id: uuid.UUID) -> bool:
        return await self._may(user_id, document_id, Action.READ)

    async def may_edit(self, user_id: uuid.UUID, document_id: uuid.UUID) -> bool:
        return await self._may(user_id, document_id, Action.EDIT)

    async def set_metadata(
        self,
        document_id: uuid.UUID,
        *,
        actor: str,
        actor_id: uuid.UUID | None = None,
        tags: list[str] | None = None,
        document_type_id: uuid.UUID | None = None,
        custom_fields: dict[str, Any] | None = None,
        clear_document_type: bool = False,
    ) -> DocumentSummary | None:
        row = await documents.by_id(self.store, document_id)
        if row is None or row.trashed_at is not None:
            return None
        merged: Any = msgspec.UNSET
        if custom_fields is not None:
            merged = dict(row.custom_fields)
            for key, value in custom_fields.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
        await self.service.apply(
            row,
            tags=tags if tags is not None else msgspec.UNSET,
            document_type_id=None
            if clear_document_type
            else document_type_id
            if document_type_id is not None
            else msgspec.UNSET,
            custom_fields=merged,
            via=actor,
            actor_id=actor_id,
        )
        return await self.document(document_id)

    async def corpus(self, organisation_id: uuid.UUID) -> list[CorpusDocument]:
        rows = await corpus.documents_with_text(self.store, organisation_id)
        names = await corpus.tag_names_of(self.store, organisation_id)
        keys = {r.key for r in await corpus.select_fields(self.store, organisation_id)}
        return [
            CorpusDocument(
                id=row.id,
                extraction_status=row.status,
                text=row.text if row.status == "ready" else None,
                tags=tuple(sorted(names.get(row.id, ()))),
                document_type_id=row.document_type_id,
                select_fields={
                    k: v
                    for k, v in (row.custom_fields or {}).items()
                    if k in keys and isinstance(v, str)
                },
            )
            for row in rows
        ]

    async def taxonomy(self, organisation_id: uuid.UUID) -> Taxonomy:
        tags = await corpus.tags(self.store, organisation_id)
        types = await corpus.document_types(self.store, organisation_id)
        fields = await corpus.select_fields(self.store, organisation_id)
        return Taxonomy(
            tags=tuple(TaxonomyItem(id=r.id, name=r.name) for r in tags),
            document_types=tuple(TaxonomyItem(id=r.id, name=r.name) for r in types),
            select_fields=tuple(
                SelectField(id=r.id, key=r.key, name=r.name, options=tuple(r.options))
                for r in fields
            ),
        )

    async def text_of(self, document_id: uuid.UUID) -> str | None:
        return await corpus.current_text(self.store, document_id)

    async def readable_among(
        self, user_id: uuid.UUID, organisation_id: uuid.UUID, document_ids: list[uuid.UUID]
    ) -> set[uuid.UUID]:
        membership = await self.identity.membership(organisation_id, user_id, api_key_id=None)
        if membership is None:
            return set()
        return await corpus.readable_among(self.store, caller_of(membership), document_ids)
