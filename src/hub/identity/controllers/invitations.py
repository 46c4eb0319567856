"""Invitations: sent from /orgs/{orgId}/invitations, accepted at /invitations/{token}."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hub.identity.controllers.convert import (
    BEARER,
    BEARER_OR_KEY,
    IdempotencyKey,
    replay_headers,
)
from hub.identity.deps import identity_of, people_only
from hub.identity.schemas.orgs import InvitationAcceptedOut, InvitationIn, InvitationOut
from hub.identity.services.runtime import ClientInfo
from hub.kernel.security import Principal


class InvitationController(Controller):
    path = "/orgs/{org_id:uuid}/invitations"
    tags = ["Identity: organisations"]
    security = BEARER_OR_KEY

    @post(
        operation_id="createInvitation",
        summary="Invite someone by e-mail (identity.invitations.manage)",
        description="E-mails a single-use link that expires; a newer invitation to the same "
        "address replaces the older one. Accepts an `Idempotency-Key` header.",
    )
    async def invite(
        self,
        org_id: FromPath[uuid.UUID],
        data: JSONBody[InvitationIn],
        principal: NamedDependency[Principal],
        state: State,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[InvitationOut]:
        identity = identity_of(state)

        async def produce() -> InvitationOut:
            view = await identity.invitations.invite(principal, org_id, data.email, data.roles)
            return InvitationOut(
                id=view.id,
                organisation_id=view.organisation_id,
                email=view.email,
                roles=view.roles,
                created_at=view.created_at,
                expires_at=view.expires_at,
            )

        out, replayed = await identity.idempotency.once(
            key=idempotency_key,
            caller=principal.user_id,
            operation=f"createInvitation:{org_id}",
            request=data,
            produce=produce,
            result_type=InvitationOut,
        )
        return Response(out, status_code=201, headers=replay_headers(replayed))


class InvitationAcceptController(Controller):
    path = "/invitations"
    tags = ["Identity: organisations"]
    security = BEARER
    guards = [people_only]

    @post(
        "/{token:str}/accept",
        status_code=200,
        operation_id="acceptInvitation",
        summary="Join the organisation (signed in with the invited address)",
    )
    async def accept(
        self,
        token: FromPath[str],
        principal: NamedDependency[Principal],
        state: State,
        client_info: NamedDependency[ClientInfo],
    ) -> InvitationAcceptedOut:
        view = await identity_of(state).invitations.accept(principal, token, client_info)
        return InvitationAcceptedOut(
            organisation_id=view.organisation_id,
            organisation_name=view.organisation_name,
            roles=view.roles,
        )
