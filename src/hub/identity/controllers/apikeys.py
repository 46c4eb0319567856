"""/auth/api-keys: keys for machine clients (the secret is shown once, at creation)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from hub.identity.deps import PeopleController
from hub.identity.schemas.apikeys import ApiKeyCreatedOut, ApiKeyIn, ApiKeyOut
from hub.identity.services.apikeys import ApiKeyService
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.security import Principal
from hub.kernel.web import Cursor, Limit, page_as, to_schema


class ApiKeyController(PeopleController):
    path = "/auth/api-keys"
    tags = ["Identity: API keys"]

    @get(
        operation_id="listApiKeys",
        opt=problems(404),
        summary="The caller's API keys, or an organisation's (api_keys.manage)",
    )
    async def list_api_keys(
        self,
        principal: NamedDependency[Principal],
        api_keys: NamedDependency[ApiKeyService],
        organisation_id: Annotated[
            uuid.UUID | None, QueryParameter(name="organisationId", required=False)
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[ApiKeyOut]:
        page = await api_keys.page(
            principal, organisation_id=organisation_id, limit=limit, cursor=cursor
        )
        return page_as(page, ApiKeyOut)

    @post(
        operation_id="createApiKey",
        opt=problems(404, 422),
        summary="Create an API key; its secret is in this response only",
        description="Needs a recent sign-in (403 `reauthentication_required`: call "
        "/auth/reauthenticate). Use the key as `Authorization: ApiKey <key>` or `X-API-Key`.",
    )
    async def create_api_key(
        self,
        data: JSONBody[ApiKeyIn],
        principal: NamedDependency[Principal],
        api_keys: NamedDependency[ApiKeyService],
    ) -> ApiKeyCreatedOut:
        view, key = await api_keys.create(
            principal,
            name=data.name,
            permissions=data.permissions,
            organisation_id=data.organisation_id,
            expires_at=data.expires_at,
        )
        return to_schema(view, ApiKeyCreatedOut, key=key)

    @delete(
        "/{key_id:uuid}",
        status_code=204,
        operation_id="revokeApiKey",
        summary="Revoke an API key (effective immediately)",
    )
    async def revoke_api_key(
        self,
        key_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        api_keys: NamedDependency[ApiKeyService],
    ) -> None:
        await api_keys.revoke(principal, key_id)
