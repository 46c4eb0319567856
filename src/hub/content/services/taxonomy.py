"""An organisation's tags (nested, coloured), document types and custom-field
definitions; and the check documents' metadata passes against them.

Names are unique per organisation case-insensitively (409 ``name_taken``); a custom
field's ``type`` never changes (422 ``field_type_immutable``): values already stored
were validated against it. Deleting a tag removes it from documents (the join rows
cascade), a tag with sub-tags cannot be deleted (409 ``tag_has_children``); deleting a
type clears it from documents, deleting a field removes its key from their fields.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

import msgspec
from sqlalchemy import String, Table, delete, insert, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.api import (
    CustomFieldCreated,
    CustomFieldDeleted,
    CustomFieldUpdated,
    DocumentTypeCreated,
    DocumentTypeDeleted,
    DocumentTypeUpdated,
    TagCreated,
    TagDeleted,
    TagUpdated,
)
from hub.content.domain.documents import check_custom_fields, tag_key
from hub.content.domain.matching import BadRule, Matching, matcher
from hub.content.domain.taxonomy import (
    Definition,
    FieldType,
    check_depth,
    check_values,
    clean_colour,
    clean_description,
    clean_key,
    clean_name,
    clean_options,
)
from hub.content.models import CustomField, Document, DocumentType, Tag
from hub.content.repositories import taxonomy as repo
from hub.content.services.search_index import SearchIndex
from hub.identity.api import IdentityApi, Membership
from hub.kernel.errors import Conflict, NotFound
from hub.kernel.pagination import Page, clamp_limit, page_of
from hub.kernel.problems import field_invalid
from hub.kernel.schema import new_id
from hub.kernel.store import Store

d = Document.__table__
_NOUN = {"tags": "tag", "document_types": "document type", "custom_fields": "custom field"}


def _not_found(table: Table) -> NotFound:
    return NotFound(f"No such {_NOUN[table.name]} in this organisation.")


def _taken(what: str) -> Conflict:
    return Conflict(f"A {what} with this name already exists here.", code="name_taken")


def _view(row: Any) -> dict[str, Any]:
    view = dict(row._mapping)
    if "match_algorithm" in view:
        view["matching"] = Matching(
            view.pop("match_algorithm"), view.pop("match_pattern"), view.pop("match_case_sensitive")
        )
    return view


def _matching(rule: Matching | None) -> dict[str, Any]:
    """The columns of a matching rule, checked (422 naming ``matching.pattern``)."""
    rule = rule or Matching()
    try:
        matcher(rule)
    except BadRule as exc:
        raise field_invalid("matching.pattern", str(exc)) from None
    return {
        "match_algorithm": rule.algorithm,
        "match_pattern": rule.pattern if rule.algorithm != "none" else "",
        "match_case_sensitive": rule.case_sensitive,
    }


Kind = Literal["tag", "type", "field"]
_TABLES: dict[str, Table] = {"tag": repo.tags, "type": repo.types, "field": repo.fields}


class TaxonomyService:
    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ reads

    async def page(
        self, actor: Membership, kind: Kind, *, limit: int | None, cursor: str | None
    ) -> Page[dict[str, Any]]:
        table = _TABLES[kind]
        size = clamp_limit(limit)
        rows = await repo.page(self.store, table, actor.organisation_id, size=size, cursor=cursor)
        return page_of([_view(r) for r in rows], size, lambda v: (str(v["id"]),))

    async def get(self, actor: Membership, kind: Kind, row_id: uuid.UUID) -> dict[str, Any]:
        table = _TABLES[kind]
        row = await repo.one(self.store, table, actor.organisation_id, row_id)
        if row is None:
            raise _not_found(table)
        return _view(row)

    async def _write(self, table: Table, what: str, statement: Any, uow: Any) -> None:
        try:
            await uow.session.execute(statement)
        except IntegrityError:
            raise _taken(what) from None

    # ------------------------------------------------------------------ tags

    async def _parent_depth(
        self, session: AsyncSession, organisation_id: uuid.UUID, parent_id: uuid.UUID | None
    ) -> list[uuid.UUID]:
        """The parent and its ancestors (empty: no parent); 422 for an unknown parent."""
        if parent_id is None:
            return []
        found = await session.scalar(
            select(repo.tags.c.id).where(
                repo.tags.c.organisation_id == organisation_id, repo.tags.c.id == parent_id
            )
        )
        if found is None:
            raise field_invalid("parentId", "No such tag in this organisation.")
        return await repo.ancestors(session, parent_id)

    async def create_tag(
        self,
        actor: Membership,
        *,
        name: str,
        parent_id: uuid.UUID | None,
        colour: str | None,
        matching: Matching | None = None,
    ) -> dict[str, Any]:
        org = actor.organisation_id
        values: dict[str, Any] = {
            "id": new_id(),
            "organisation_id": org,
            "name": clean_name(name),
            "parent_id": parent_id,
            "colour": clean_colour(colour),
            **_matching(matching),
        }
        values["name_key"] = tag_key(values["name"])
        async with self.store.uow() as uow:
            check_depth(len(await self._parent_depth(uow.session, org, parent_id)))
            await self._write(repo.tags, "tag", insert(Tag).values(**values), uow)
            uow.publish(TagCreated(id=values["id"], name=values["name"]))
            await uow.commit()
        return await self.get(actor, "tag", values["id"])

    async def update_tag(
        self,
        actor: Membership,
        tag_id: uuid.UUID,
        *,
        name: Any = msgspec.UNSET,
        parent_id: Any = msgspec.UNSET,
        colour: Any = msgspec.UNSET,
        matching: Any = msgspec.UNSET,
    ) -> dict[str, Any]:
        row = await self.get(actor, "tag", tag_id)
        values: dict[str, Any] = {}
        if name is not msgspec.UNSET:
            values["name"] = clean_name(name)
            values["name_key"] = tag_key(values["name"])
        if colour is not msgspec.UNSET:
            values["colour"] = clean_colour(colour)
        if matching is not msgspec.UNSET:
            values.update(_matching(matching))
        async with self.store.uow() as uow:
            if parent_id is not msgspec.UNSET and parent_id != row["parent_id"]:
                chain = await self._parent_depth(uow.session, actor.organisation_id, parent_id)
                if tag_id in chain:
                    raise field_invalid("parentId", "A tag cannot sit under itself.")
                check_depth(len(chain), await repo.height_of(uow.session, tag_id))
                values["parent_id"] = parent_id
            if values:
                await self._write(
                    repo.tags,
                    "tag",
                    update(Tag).where(repo.tags.c.id == tag_id).values(**values),
                    uow,
                )
                if "name" in values:
                    await SearchIndex.refresh(uow, await SearchIndex.tagged(uow, tag_id))
                uow.publish(TagUpdated(id=tag_id, name=values.get("name", row["name"])))
                await uow.commit()
        return await self.get(actor, "tag", tag_id)

    async def delete_tag(self, actor: Membership, tag_id: uuid.UUID) -> None:
        row = await self.get(actor, "tag", tag_id)
        async with self.store.uow() as uow:
            if await repo.has_children(uow.session, tag_id):
                raise Conflict(
                    "This tag has sub-tags; delete or move them first.", code="tag_has_children"
                )
            tagged = await SearchIndex.tagged(uow, tag_id)
            try:
                await uow.session.execute(delete(Tag).where(repo.tags.c.id == tag_id))
            except IntegrityError:  # a sub-tag was added meanwhile
                raise Conflict(
                    "This tag has sub-tags; delete or move them first.", code="tag_has_children"
                ) from None
            await SearchIndex.refresh(uow, tagged)
            uow.publish(TagDeleted(id=tag_id, name=row["name"]))
            await uow.commit()

    # ------------------------------------------------------------------ document types

    async def create_type(
        self,
        actor: Membership,
        *,
        name: str,
        description: str,
        audit_reads: bool = False,
        matching: Matching | None = None,
    ) -> dict[str, Any]:
        clean = clean_name(name)
        values: dict[str, Any] = {
            "id": new_id(),
            "organisation_id": actor.organisation_id,
            "name": clean,
            "name_key": tag_key(clean),
            "description": clean_description(description),
            "audit_reads": audit_reads,
            **_matching(matching),
        }
        async with self.store.uow() as uow:
            await self._write(
                repo.types, "document type", insert(DocumentType).values(**values), uow
            )
            uow.publish(DocumentTypeCreated(id=values["id"], name=clean, audit_reads=audit_reads))
            await uow.commit()
        return await self.get(actor, "type", values["id"])

    async def update_type(
        self,
        actor: Membership,
        type_id: uuid.UUID,
        *,
        name: Any = msgspec.UNSET,
        description: Any = msgspec.UNSET,
        audit_reads: Any = msgspec.UNSET,
        matching: Any = msgspec.UNSET,
    ) -> dict[str, Any]:
        row = await self.get(actor, "type", type_id)
        values: dict[str, Any] = {}
        if matching is not msgspec.UNSET:
            values.update(_matching(matching))
        if name is not msgspec.UNSET:
            values["name"] = clean_name(name)
            values["name_key"] = tag_key(values["name"])
        if description is not msgspec.UNSET:
            values["description"] = clean_description(description)
        if audit_reads is not msgspec.UNSET:
            values["audit_reads"] = bool(audit_reads)
        if values:
            async with self.store.uow() as uow:
                stmt = update(DocumentType).where(repo.types.c.id == type_id).values(**values)
                await self._write(repo.types, "document type", stmt, uow)
                uow.publish(
                    DocumentTypeUpdated(
                        id=type_id,
                        name=values.get("name", row["name"]),
                        audit_reads=values.get("audit_reads", row["audit_reads"]),
                    )
                )
                await uow.commit()
        return await self.get(actor, "type", type_id)

    async def delete_type(self, actor: Membership, type_id: uuid.UUID) -> None:
        row = await self.get(actor, "type", type_id)
        async with self.store.uow() as uow:
            await uow.session.execute(
                update(Document)
                .where(
                    d.c.organisation_id == actor.organisation_id, d.c.document_type_id == type_id
                )
                .values(document_type_id=None)
            )
            await uow.session.execute(delete(DocumentType).where(repo.types.c.id == type_id))
            uow.publish(DocumentTypeDeleted(id=type_id, name=row["name"]))
            await uow.commit()

    # ------------------------------------------------------------------ custom fields

    async def create_field(
        self, actor: Membership, *, key: str, name: str, type: str, options: list[str] | None
    ) -> dict[str, Any]:
        field_type = FieldType(type)
        values: dict[str, Any] = {
            "id": new_id(),
            "organisation_id": actor.organisation_id,
            "key": clean_key(key),
            "name": clean_name(name),
            "type": field_type.value,
            "options": clean_options(field_type, options),
        }
        async with self.store.uow() as uow:
            try:
                await uow.session.execute(insert(CustomField).values(**values))
            except IntegrityError:
                raise Conflict(
                    "A custom field with this key already exists here.", code="key_taken"
                ) from None
            uow.publish(CustomFieldCreated(id=values["id"], name=values["name"]))
            await uow.commit()
        return await self.get(actor, "field", values["id"])

    async def update_field(
        self,
        actor: Membership,
        field_id: uuid.UUID,
        *,
        name: Any = msgspec.UNSET,
        options: Any = msgspec.UNSET,
        type: Any = msgspec.UNSET,
    ) -> dict[str, Any]:
        row = await self.get(actor, "field", field_id)
        if type is not msgspec.UNSET and type != row["type"]:
            raise field_invalid(
                "type",
                "A custom field's type cannot change; create another field.",
                code="field_type_immutable",
            )
        values: dict[str, Any] = {}
        if name is not msgspec.UNSET:
            values["name"] = clean_name(name)
        if options is not msgspec.UNSET:
            values["options"] = clean_options(FieldType(row["type"]), options)
        if values:
            async with self.store.uow() as uow:
                await uow.session.execute(
                    update(CustomField).where(repo.fields.c.id == field_id).values(**values)
                )
                uow.publish(CustomFieldUpdated(id=field_id, name=values.get("name", row["name"])))
                await uow.commit()
        return await self.get(actor, "field", field_id)

    async def delete_field(self, actor: Membership, field_id: uuid.UUID) -> None:
        row = await self.get(actor, "field", field_id)
        async with self.store.uow() as uow:
            holding = await SearchIndex.with_field(uow, actor.organisation_id, row["key"])
            await uow.session.execute(
                update(Document)
                .where(
                    d.c.organisation_id == actor.organisation_id,
                    d.c.custom_fields.has_key(row["key"]),
                )
                .values(  # jsonb - text: the object without that key
                    custom_fields=d.c.custom_fields.op("-", return_type=JSONB)(
                        literal(row["key"], String)
                    )
                )
            )
            await uow.session.execute(delete(CustomField).where(repo.fields.c.id == field_id))
            await SearchIndex.refresh(uow, holding)
            uow.publish(CustomFieldDeleted(id=field_id, name=row["name"]))
            await uow.commit()


class MetadataRules:
    """The check a document's type and custom fields pass on upload and on change: the
    type must be the organisation's, each field key defined, each value of the field's
    type; ``member`` values name members (422 otherwise). ``document`` values (links)
    are checked against the documents they name, under lock, by
    ``services.doclinks.DocumentLinks.write``, which every writer calls next."""

    def __init__(self, identity_api: IdentityApi) -> None:
        self.identity_api = identity_api

    async def document_type(
        self, session: AsyncSession, organisation_id: uuid.UUID, type_id: uuid.UUID | None
    ) -> None:
        if type_id is not None and not await repo.type_exists(session, organisation_id, type_id):
            raise field_invalid("documentTypeId", "No such document type in this organisation.")

    async def custom_fields(
        self, session: AsyncSession, organisation_id: uuid.UUID, values: Any
    ) -> dict[str, Any]:
        raw = check_custom_fields(values if values is not None else {})
        if not raw:
            return {}
        definitions = {
            r.key: Definition(r.key, r.type, list(r.options))
            for r in await repo.definitions(session, organisation_id)
        }
        cleaned = check_values(raw, definitions)
        for key, value in cleaned.items():
            kind = definitions[key].type
            if kind is FieldType.MEMBER:
                member = await self.identity_api.membership(
                    organisation_id, uuid.UUID(value), api_key_id=None
                )
                if member is None:
                    raise field_invalid(f"customFields.{key}", f"{key}: not a member.")
        return cleaned
