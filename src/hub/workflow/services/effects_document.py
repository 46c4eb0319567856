"""The effects of ``setType``, ``setField`` and ``setAccess`` on an instance's subject
document, through ``hub.content.api`` (content never imports workflow). Each answers an
error (the effect then fails, logged and kept with its reason) or None."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from hub.content.api import AccessGrant, ContentApi, DocumentSummary
from hub.identity.api import IdentityApi

ACTOR = "workflow"


class DocumentEffects:
    KINDS: ClassVar[frozenset[str]] = frozenset({"setType", "setField", "setAccess"})

    def __init__(self, identity: IdentityApi, content: ContentApi) -> None:
        self.identity, self.content = identity, content

    async def run(self, kind: str, instance: Any, spec: dict[str, Any]) -> str | None:
        if instance.document_id is None:
            return "the instance's subject is not a document"
        document = await self.content.document(instance.document_id)
        if document is None or document.organisation_id != instance.organisation_id:
            return "the subject document no longer exists"
        if kind == "setAccess" and "documents" in spec:
            return await self._set_access_of_many(instance, document, spec)
        if kind == "setType":
            return await self._set_type(instance, spec)
        if kind == "setField":
            done = await self.content.set_metadata(
                instance.document_id, actor=ACTOR, custom_fields={spec["field"]: spec["value"]}
            )
            return None if done is not None else "the subject document is gone or trashed"
        return await self._set_access(instance, spec)

    async def _set_type(self, instance: Any, spec: dict[str, Any]) -> str | None:
        wanted = str(spec["documentType"]).strip().lower()
        taxonomy = await self.content.taxonomy(instance.organisation_id)
        found = next(
            (t.id for t in taxonomy.document_types if wanted in (t.name.lower(), str(t.id))),
            None,
        )
        if found is None:
            return f"no document type {spec['documentType']!r} any more"
        done = await self.content.set_metadata(
            instance.document_id, actor=ACTOR, document_type_id=found
        )
        return None if done is not None else "the subject document is gone or trashed"

    async def _grants(
        self, instance: Any, raw: dict[str, Any] | None, access: str
    ) -> tuple[list[AccessGrant], str | None]:
        if not raw:
            return [], None
        roles = {
            r.name.lower(): r.id for r in await self.identity.roles_of(instance.organisation_id)
        }
        ids = {str(i) for i in roles.values()}
        out: list[AccessGrant] = []
        for role in raw.get("roles", []):
            name = str(role).lower()
            if name in ids:
                out.append(AccessGrant(role_id=uuid.UUID(name), access=access))
            elif name in roles:
                out.append(AccessGrant(role_id=roles[name], access=access))
            else:
                return [], f"no role {role!r} any more"
        users = {uuid.UUID(str(u)) for u in raw.get("userIds", [])}
        if raw.get("starter") and instance.started_by is not None:
            users.add(instance.started_by)
        out += [AccessGrant(user_id=u, access=access) for u in sorted(users)]
        return out, None

    async def _set_access_of_many(
        self, instance: Any, subject: DocumentSummary, spec: dict[str, Any]
    ) -> str | None:
        """``setAccess`` on every document whose ``documents.field`` holds the subject's
        value (of ``documents.documentType`` when given), the subject itself excluded."""
        selector: dict[str, Any] = spec["documents"]
        key = str(selector["field"])
        value = subject.custom_fields.get(key)
        if value is None:
            return f"the subject document has no value for {key!r}"
        type_id: uuid.UUID | None = None
        if "documentType" in selector:
            wanted = str(selector["documentType"]).strip().lower()
            taxonomy = await self.content.taxonomy(instance.organisation_id)
            type_id = next(
                (t.id for t in taxonomy.document_types if wanted in (t.name.lower(), str(t.id))),
                None,
            )
            if type_id is None:
                return f"no document type {selector['documentType']!r} any more"
        values = await self.content.field_values(instance.organisation_id, key)
        for document_id in sorted(d for d, v in values.items() if v == value):
            if document_id == subject.id:
                continue
            if type_id is not None:
                found = await self.content.document(document_id)
                if found is None or found.document_type_id != type_id:
                    continue
            error = await self._set_access(instance, spec, document_id)
            if error is not None:
                return error
        return None

    async def _set_access(
        self, instance: Any, spec: dict[str, Any], document_id: uuid.UUID | None = None
    ) -> str | None:
        raw_grant: dict[str, Any] | None = spec.get("grant")
        grant, error = await self._grants(
            instance, raw_grant, str((raw_grant or {}).get("access", "view"))
        )
        if error is None:
            revoke, error = await self._grants(instance, spec.get("revoke"), "view")
        if error is not None:
            return error
        done = await self.content.change_access(
            document_id or instance.document_id,
            actor=ACTOR,
            restricted=spec.get("restricted"),
            grant=grant,
            revoke=revoke,
        )
        return None if done is not None else "the subject document is gone or trashed"
