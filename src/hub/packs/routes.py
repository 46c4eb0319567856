"""``/packs`` and ``/orgs/{orgId}/pack``: packs over HTTP, for platform administrators.

The bodies are the pack format's one-object form (``PackDocument``: what the directory
of YAML files holds, as JSON). An invalid pack is a 422 ``invalid_pack`` listing every
problem and changes nothing; an organisation that does not exist is a 404. Members of an
organisation, even its owners, do not apply packs: a pack rewrites roles and workflows
at once, which is the platform's decision.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hub.kernel.errors import FieldError, Invalid
from hub.kernel.openapi import problems
from hub.kernel.problems import not_found
from hub.kernel.security import Principal
from hub.kernel.structs import Schema
from hub.kernel.web import BEARER
from hub.packs.engine import PackEngine, PackReport, export_name
from hub.packs.files import read_pack
from hub.packs.format import PackDocument, PackProblem
from hub.packs.shipped import SHIPPED, SHIPPED_ROOT


class PackValidation(Schema):
    valid: bool
    problems: list[PackProblem]


class ShippedPack(Schema):
    name: str
    version: str
    description: str


class ShippedPacks(Schema):
    items: list[ShippedPack]


def invalid_pack(found: list[PackProblem]) -> Invalid:
    return Invalid(
        f"The pack has {len(found)} problem(s); nothing was applied.",
        code="invalid_pack",
        errors=[FieldError(field=p.path, message=p.message) for p in found],
    )


def shipped(name: str) -> PackDocument:
    if name not in SHIPPED:
        raise not_found("pack")
    document, found = read_pack(SHIPPED_ROOT / name)
    if document is None or found:  # a broken shipped pack is a bug the tests catch
        raise RuntimeError(f"shipped pack {name} is invalid: {found}")
    return document


class PackController(Controller):
    tags = ["Packs: configuration as code"]
    security = BEARER

    @get(
        "/packs",
        operation_id="listPacks",
        summary="The packs shipped with the hub",
        opt=problems(403),
    )
    async def list_packs(
        self, principal: NamedDependency[Principal], packs: NamedDependency[PackEngine]
    ) -> ShippedPacks:
        await packs.require_platform_admin(principal.user_id, principal.api_key_id)
        manifests = [shipped(name).pack for name in SHIPPED]
        return ShippedPacks(
            items=[
                ShippedPack(name=m.name, version=m.version, description=m.description)
                for m in manifests
            ]
        )

    @get(
        "/packs/{name:str}",
        operation_id="getPack",
        summary="A shipped pack, in the form PUT /orgs/{orgId}/pack takes",
        opt=problems(403, 404),
    )
    async def get_pack(
        self,
        name: FromPath[str],
        principal: NamedDependency[Principal],
        packs: NamedDependency[PackEngine],
    ) -> PackDocument:
        await packs.require_platform_admin(principal.user_id, principal.api_key_id)
        return shipped(name)

    @post(
        "/packs/validate",
        status_code=200,
        operation_id="validatePack",
        summary="Every problem of a pack (reads no organisation, changes nothing)",
        opt=problems(403),
    )
    async def validate(
        self,
        data: JSONBody[PackDocument],
        principal: NamedDependency[Principal],
        packs: NamedDependency[PackEngine],
    ) -> PackValidation:
        await packs.require_platform_admin(principal.user_id, principal.api_key_id)
        found = await packs.problems(data)
        return PackValidation(valid=not found, problems=found)

    @put(
        "/orgs/{org_id:uuid}/pack",
        operation_id="applyPack",
        summary="Apply a pack to an organisation: what differs is created or updated, "
        "workflows get a new version; applying it again changes nothing",
        opt=problems(403, 404, 409, 422),
    )
    async def apply(
        self,
        org_id: FromPath[uuid.UUID],
        data: JSONBody[PackDocument],
        principal: NamedDependency[Principal],
        packs: NamedDependency[PackEngine],
    ) -> PackReport:
        await packs.require_platform_admin(principal.user_id, principal.api_key_id)
        if await packs.organisation_name(org_id) is None:
            raise not_found("organisation")
        found = await packs.problems(data)
        if found:
            raise invalid_pack(found)
        return await packs.apply(org_id, data, actor_id=principal.user_id)

    @get(
        "/orgs/{org_id:uuid}/pack",
        operation_id="exportPack",
        summary="An organisation's configuration as a pack",
        opt=problems(403, 404),
    )
    async def export(
        self,
        org_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        packs: NamedDependency[PackEngine],
    ) -> PackDocument:
        await packs.require_platform_admin(principal.user_id, principal.api_key_id)
        name = await packs.organisation_name(org_id)
        if name is None:
            raise not_found("organisation")
        return await packs.export(org_id, name=export_name(name))


ROUTE_HANDLERS: list[Any] = [PackController]
