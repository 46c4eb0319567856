"""In-process implementation of :class:`hub.content.api.ContentApi`.

Another context (workflow, intelligence) reads documents and asks the document rule
here; a split-out content service would answer the same calls over HTTP.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import select

from hub.content.api import (
    AccessGrant,
    ContentApi,
    ContentConfigApi,
    CorpusDocument,
    CustomFieldItem,
    CustomFieldSetting,
    DocumentSummary,
    DocumentTypeSetting,
    MatchingSetting,
    SelectField,
    TagSetting,
    Taxonomy,
    TaxonomyItem,
    TaxonomySettings,
)
from hub.content.domain.access import Action, Facts, allowed, caller_of, capabilities
from hub.content.domain.documents import tag_key
from hub.content.domain.matching import Matching
from hub.content.domain.taxonomy import (
    MAX_TAG_DEPTH,
    FieldType,
    clean_colour,
    clean_description,
    clean_key,
    clean_name,
    clean_options,
)
from hub.content.repositories import corpus, documents
from hub.content.repositories import taxonomy as taxonomy_repo
from hub.content.services.documents import DocumentService
from hub.content.services.sharing import Share, SharingService
from hub.content.services.taxonomy import TaxonomyService
from hub.identity.api import IdentityApi, Membership, SettingChange
from hub.kernel.errors import AppError
from hub.kernel.problems import field_invalid
from hub.kernel.store import Store


class ContentFacade(ContentApi):
    def __init__(
        self,
        store: Store,
        identity: IdentityApi,
        service: DocumentService,
        sharing: SharingService,
    ) -> None:
        self.store = store
        self.identity = identity
        self.service = service
        self.sharing = sharing

    async def document(self, document_id: uuid.UUID) -> DocumentSummary | None:
        row = await documents.summary_by_id(self.store, document_id)
        return None if row is None else _summary(row)

    async def readable_document(
        self, user_id: uuid.UUID, document_id: uuid.UUID
    ) -> DocumentSummary | None:
        row = await documents.summary_by_id(self.store, document_id)
        if row is None or row.trashed_at is not None:
            return None
        membership = await self.identity.membership(row.organisation_id, user_id, api_key_id=None)
        if membership is None:
            return None
        caller = caller_of(membership)
        # A share only ever adds rights: it is read only when the rule without it says no.
        if not allowed(
            caller, Facts(owner_id=row.owner_id, restricted=row.restricted), Action.READ
        ):
            share = await documents.share_for(self.store, row.id, caller)
            facts = Facts(owner_id=row.owner_id, restricted=row.restricted, share=share)
            if share is None or not allowed(caller, facts, Action.READ):
                return None
        return _summary(row)

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

    async def record_read(self, document_id: uuid.UUID, what: str) -> None:
        # Callers holding a summary skip this call when ``audit_reads`` is False.
        row = await documents.by_id(self.store, document_id)
        if row is not None and row.audit_reads:
            await self.sharing.access.record_read(document_id, row.organisation_id, what)

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

    async def change_access(
        self,
        document_id: uuid.UUID,
        *,
        actor: str,
        restricted: bool | None = None,
        grant: list[AccessGrant] | None = None,
        revoke: list[AccessGrant] | None = None,
    ) -> DocumentSummary | None:
        row = await documents.by_id(self.store, document_id)
        if row is None or row.trashed_at is not None:
            return None

        def share(g: AccessGrant) -> Share:
            return Share(user_id=g.user_id, role_id=g.role_id, access=g.access)

        await self.sharing.change(
            row,
            restricted=restricted,
            grant=[share(g) for g in grant or []],
            revoke=[share(g) for g in revoke or []],
        )
        return await self.document(document_id)

    async def field_values(self, organisation_id: uuid.UUID, key: str) -> dict[uuid.UUID, Any]:
        return await corpus.field_values(self.store, organisation_id, key)

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
        rows = await corpus.taxonomy(self.store, organisation_id)
        tags = [r for r in rows if r.kind == "tag"]
        types = [r for r in rows if r.kind == "type"]
        fields = [r for r in rows if r.kind == "field"]
        return Taxonomy(
            tags=tuple(TaxonomyItem(id=r.id, name=r.name) for r in tags),
            document_types=tuple(TaxonomyItem(id=r.id, name=r.name) for r in types),
            custom_fields=tuple(
                CustomFieldItem(id=r.id, key=r.key, name=r.name, type=r.type) for r in fields
            ),
            select_fields=tuple(
                SelectField(id=r.id, key=r.key, name=r.name, options=tuple(r.options or ()))
                for r in fields
                if r.type == "select"
            ),
        )

    async def text_of(self, document_id: uuid.UUID) -> str | None:
        return await corpus.current_text(self.store, document_id)

    async def readable_among(
        self,
        user_id: uuid.UUID,
        organisation_id: uuid.UUID,
        document_ids: list[uuid.UUID],
        *,
        trashed: bool = False,
    ) -> set[uuid.UUID]:
        membership = await self.identity.membership(organisation_id, user_id, api_key_id=None)
        if membership is None:
            return set()
        return await corpus.readable_among(
            self.store, caller_of(membership), document_ids, trashed=trashed
        )


def _summary(row: Any) -> DocumentSummary:
    return DocumentSummary(
        id=row.id,
        organisation_id=row.organisation_id,
        owner_id=row.owner_id,
        title=row.title,
        file_name=row.file_name,
        media_type=row.media_type,
        size=row.size,
        version=row.current_version,
        tags=tuple(row.tag_names or ()),
        document_type_id=row.document_type_id,
        custom_fields=row.custom_fields,
        restricted=row.restricted,
        legal_hold=row.legal_hold,
        created_at=row.created_at,
        updated_at=row.updated_at,
        trashed_at=row.trashed_at,
        audit_reads=row.audit_reads,
    )


def _acting(organisation_id: uuid.UUID, actor_id: uuid.UUID) -> Membership:
    """The taxonomy service reads only the organisation of its caller's membership."""
    return Membership(organisation_id=organisation_id, user_id=actor_id, roles=(), grants=())


def _collect(found: list[tuple[str, str]], path: str, check: Any) -> None:
    try:
        check()
    except AppError as exc:
        if not exc.errors:
            found.append((path, exc.detail))
        for e in exc.errors or ():
            found.append((f"{path}.{e.field}", e.message))


def _depth(tags: dict[str, TagSetting], name: str) -> int:
    """How deep the tag sits (1: top level); a cycle counts as too deep."""
    seen: set[str] = set()
    depth, current = 1, tags[name]
    while current.parent is not None and tag_key(current.parent) in tags:
        key = tag_key(current.parent)
        if key in seen:
            return MAX_TAG_DEPTH + 1
        seen.add(key)
        depth, current = depth + 1, tags[key]
    return depth


class ContentConfigFacade(ContentConfigApi):
    """Taxonomy as configuration, through :class:`TaxonomyService` (its checks, its events)."""

    def __init__(self, store: Store, taxonomy: TaxonomyService) -> None:
        self.store, self.taxonomy = store, taxonomy

    async def taxonomy_problems(
        self, settings: TaxonomySettings, path: str
    ) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        tags = {tag_key(t.name): t for t in settings.tags}
        for i, tag in enumerate(settings.tags):
            at = f"{path}.tags[{i}]"
            _collect(found, at, lambda t=tag: clean_name(t.name))
            _collect(found, at, lambda t=tag: clean_colour(t.colour))
            if tag.parent is not None and tag_key(tag.parent) not in tags:
                found.append((f"{at}.parent", f"no tag {tag.parent!r} in this pack"))
            elif tag.parent is not None and _depth(tags, tag_key(tag.name)) > MAX_TAG_DEPTH:
                found.append((f"{at}.parent", f"tags nest at most {MAX_TAG_DEPTH} levels deep"))
        for i, kind in enumerate(settings.document_types):
            at = f"{path}.documentTypes[{i}]"
            _collect(found, at, lambda k=kind: clean_name(k.name))
            _collect(found, at, lambda k=kind: clean_description(k.description))
        for i, field in enumerate(settings.custom_fields):
            at = f"{path}.customFields[{i}]"
            _collect(found, at, lambda f=field: clean_key(f.key))
            _collect(found, at, lambda f=field: clean_name(f.name))
            try:
                field_type = FieldType(field.type)
            except ValueError:
                kinds = ", ".join(t.value for t in FieldType)
                found.append((f"{at}.type", f"{field.type!r} is not one of {kinds}"))
                continue
            options = list(field.options) if field.options is not None else None
            _collect(found, at, lambda t=field_type, o=options: clean_options(t, o))
        for what, names in (
            ("tags", [tag_key(t.name) for t in settings.tags]),
            ("documentTypes", [tag_key(k.name) for k in settings.document_types]),
            ("customFields", [f.key for f in settings.custom_fields]),
        ):
            for i, name in enumerate(names):
                if name in names[:i]:
                    found.append((f"{path}.{what}[{i}]", f"{name!r} appears twice"))
        return found

    async def taxonomy_settings(self, organisation_id: uuid.UUID) -> TaxonomySettings:
        t, k, f = taxonomy_repo.tags, taxonomy_repo.types, taxonomy_repo.fields
        tags = await self.store.fetch(
            select(t.c.id, t.c.name, t.c.parent_id, t.c.colour, *_rule_columns(t))
            .where(t.c.organisation_id == organisation_id)
            .order_by(t.c.name_key)
        )
        tag_rows = list(tags)
        names = {row.id: row.name for row in tag_rows}
        kinds = await self.store.fetch(
            select(k.c.name, k.c.description, k.c.audit_reads, *_rule_columns(k))
            .where(k.c.organisation_id == organisation_id)
            .order_by(k.c.name_key)
        )
        fields = await self.store.fetch(
            select(f.c.key, f.c.name, f.c.type, f.c.options)
            .where(f.c.organisation_id == organisation_id)
            .order_by(f.c.key)
        )
        return TaxonomySettings(
            tags=tuple(
                TagSetting(
                    name=r.name,
                    parent=names.get(r.parent_id),
                    colour=r.colour,
                    matching=_rule_setting(r),
                )
                for r in tag_rows
            ),
            document_types=tuple(
                DocumentTypeSetting(
                    name=r.name,
                    description=r.description,
                    audit_reads=r.audit_reads,
                    matching=_rule_setting(r),
                )
                for r in kinds
            ),
            custom_fields=tuple(
                CustomFieldSetting(
                    key=r.key, name=r.name, type=r.type, options=tuple(r.options) or None
                )
                for r in fields
            ),
        )

    async def _tag_id(self, organisation_id: uuid.UUID, name: str) -> Any:
        t = taxonomy_repo.tags
        return await self.store.first(
            select(t.c.id, t.c.parent_id, t.c.colour, t.c.name, *_rule_columns(t)).where(
                t.c.organisation_id == organisation_id, t.c.name_key == tag_key(clean_name(name))
            )
        )

    async def put_tag(
        self, organisation_id: uuid.UUID, tag: TagSetting, *, actor_id: uuid.UUID
    ) -> SettingChange:
        actor = _acting(organisation_id, actor_id)
        parent_id = None
        if tag.parent is not None:
            parent = await self._tag_id(organisation_id, tag.parent)
            if parent is None:
                raise field_invalid("parent", f"No tag {tag.parent!r} in this organisation.")
            parent_id = parent.id
        existing = await self._tag_id(organisation_id, tag.name)
        colour = clean_colour(tag.colour)
        rule = _rule(tag.matching)
        if existing is None:
            await self.taxonomy.create_tag(
                actor,
                name=tag.name,
                parent_id=parent_id,
                colour=tag.colour,
                matching=rule if rule is not msgspec.UNSET else None,
            )
            return "created"
        wanted = (clean_name(tag.name), parent_id, colour)
        if wanted == (existing.name, existing.parent_id, existing.colour) and _same(rule, existing):
            return "unchanged"
        await self.taxonomy.update_tag(
            actor,
            existing.id,
            name=tag.name,
            parent_id=parent_id,
            colour=tag.colour,
            matching=rule,
        )
        return "updated"

    async def put_document_type(
        self, organisation_id: uuid.UUID, document_type: DocumentTypeSetting, *, actor_id: uuid.UUID
    ) -> SettingChange:
        actor = _acting(organisation_id, actor_id)
        k = taxonomy_repo.types
        name = clean_name(document_type.name)
        existing = await self.store.first(
            select(k.c.id, k.c.name, k.c.description, k.c.audit_reads, *_rule_columns(k)).where(
                k.c.organisation_id == organisation_id, k.c.name_key == tag_key(name)
            )
        )
        description = clean_description(document_type.description)
        audit = document_type.audit_reads
        rule = _rule(document_type.matching)
        if existing is None:
            await self.taxonomy.create_type(
                actor,
                name=name,
                description=description,
                audit_reads=audit,
                matching=rule if rule is not msgspec.UNSET else None,
            )
            return "created"
        stored = (existing.name, existing.description, existing.audit_reads)
        if (name, description, audit) == stored and _same(rule, existing):
            return "unchanged"
        await self.taxonomy.update_type(
            actor,
            existing.id,
            name=name,
            description=description,
            audit_reads=audit,
            matching=rule,
        )
        return "updated"

    async def put_custom_field(
        self, organisation_id: uuid.UUID, field: CustomFieldSetting, *, actor_id: uuid.UUID
    ) -> SettingChange:
        actor = _acting(organisation_id, actor_id)
        f = taxonomy_repo.fields
        existing = await self.store.first(
            select(f.c.id, f.c.name, f.c.type, f.c.options).where(
                f.c.organisation_id == organisation_id, f.c.key == field.key
            )
        )
        options = list(field.options) if field.options is not None else None
        if existing is None:
            await self.taxonomy.create_field(
                actor, key=field.key, name=field.name, type=field.type, options=options
            )
            return "created"
        cleaned = clean_options(FieldType(existing.type), options)
        same = (clean_name(field.name), cleaned) == (existing.name, list(existing.options))
        if same and field.type == existing.type:
            return "unchanged"
        await self.taxonomy.update_field(
            actor, existing.id, name=field.name, options=options, type=field.type
        )
        return "updated"


def _rule_columns(table: Any) -> tuple[Any, ...]:
    return (table.c.match_algorithm, table.c.match_pattern, table.c.match_case_sensitive)


def _rule_setting(row: Any) -> MatchingSetting | None:
    """A stored rule as configuration (none: left out of the export)."""
    if row.match_algorithm == "none":
        return None
    return MatchingSetting(
        algorithm=row.match_algorithm,
        pattern=row.match_pattern,
        case_sensitive=row.match_case_sensitive,
    )


def _rule(setting: MatchingSetting | None) -> Any:
    """The rule a setting asks for (unset: the setting leaves the rule as it is)."""
    if setting is None:
        return msgspec.UNSET
    return Matching(setting.algorithm, setting.pattern, setting.case_sensitive)


def _same(rule: Any, row: Any) -> bool:
    if rule is msgspec.UNSET:
        return True
    stored = (row.match_algorithm, row.match_pattern, row.match_case_sensitive)
    pattern = rule.pattern if rule.algorithm != "none" else ""
    return (rule.algorithm, pattern, rule.case_sensitive) == stored
