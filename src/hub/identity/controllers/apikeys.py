"""/auth/api-keys: keys for machine clients (the secret is shown once, at creation)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from hub.identity.controllers.convert import BEARER
from hub.identity.deps import identity_of, people_only
from hub.identity.schemas.apikeys import ApiKeyCreatedOut, ApiKeyIn, ApiKeyOut, ApiKeyPage
from hub.identity.services.apikeys import ApiKeyView
from hub.kernel.security import Principal


def api_key_out(view: ApiKeyView) -> ApiKeyOut:
    return ApiKeyOut(
        id=view.id,
        name=view.name,
        prefix=view.prefix,
        user_id=view.user_id,
        organisation_id=view.organisation_id,
        permissions=view.permissions,
        created_at=view.created_at,
        expires_at=view.expires_at,
        last_used_at=view.last_used_at,
        revoked_at=view.revoked_at,
    )


class ApiKeyController(Controller):
    path = "/auth/api-keys"
    tags = ["Identity: API keys"]
    guards = [people_only]
    security = BEARER

    @get(
        operation_id="listApiKeys",
        summary="The caller's API keys, or an organisation's (identity.api_keys.manage)",
    )
    async def list_api_keys(
        self,
        principal: NamedDependency[Principal],
        state: State,
        organisation_id: Annotated[
            uuid.UUID | None, QueryParameter(name="organisationId", required=False)
        ] = None,
        limit: FromQuery[int | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> ApiKeyPage:
        page = await identity_of(state).api_keys.page(
            principal, organisation_id=organisation_id, limit=limit, cursor=cursor
        )
        return ApiKeyPage(
            items=[api_key_out(v) for v in page.items],
            limit=page.limit,
            next_cursor=page.next_cursor,
        )

    @post(
        operation_id="createApiKey",
        summary="Create an API key; its secret is in this response only",
        description="Needs a recent sign-in (403 `reauthentication_required`: call "
        "/auth/reauthenticate). Use the key as `Authorization: ApiKey <key>` or `X-API-Key`.",
    )
    async def create_api_key(
        self, data: JSONBody[ApiKeyIn], principal: NamedDependency[Principal], state: State
    ) -> ApiKeyCreatedOut:
        view, key = await identity_of(state).api_keys.create(
            principal,
            name=data.name,
            permissions=data.permissions,
            organisation_id=data.organisation_id,
            expires_at=data.expires_at,
        )
        out = api_key_out(view)
        return ApiKeyCreatedOut(
            id=out.id,
            name=out.name,
            prefix=out.prefix,
            user_id=out.user_id,
            organisation_id=out.organisation_id,
            permissions=out.permissions,
            created_at=out.created_at,
            expires_at=out.expires_at,
            last_used_at=out.last_used_at,
            revoked_at=out.revoked_at,
            key=key,
        )

    @delete(
        "/{key_id:uuid}",
        status_code=204,
        operation_id="revokeApiKey",
        summary="Revoke an API key (effective immediately)",
    )
    async def revoke_api_key(
        self, key_id: FromPath[uuid.UUID], principal: NamedDependency[Principal], state: State
    ) -> None:
        await identity_of(state).api_keys.revoke(principal, key_id)
