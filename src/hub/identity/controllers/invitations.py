"""Invitations: sent from /orgs/{orgId}/invitations, accepted at /invitations/{token}."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hub.identity.api import Membership
from hub.identity.deps import people_only
from hub.identity.domain.roles import INVITATIONS_MANAGE
from hub.identity.schemas.orgs import InvitationAcceptedOut, InvitationIn, InvitationOut
from hub.identity.services.invitations import InvitationService
from hub.kernel.security import Principal
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER, BEARER_OR_KEY, ClientInfo, Idempotency, IdempotencyKey, to_schema


class InvitationController(Controller):
    path = "/orgs/{org_id:uuid}/invitations"
    tags = ["Identity: organisations"]
    security = BEARER_OR_KEY

    @post(
        operation_id="createInvitation",
        summary="Invite someone by e-mail (invitations.manage)",
        description="E-mails a single-use link that expires; a newer invitation to the same "
        "address replaces the older one. Accepts an `Idempotency-Key` header.",
        guards=[permission(INVITATIONS_MANAGE)],
    )
    async def invite(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        data: JSONBody[InvitationIn],
        principal: NamedDependency[Principal],
        invitations: NamedDependency[InvitationService],
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[InvitationOut]:

        async def produce() -> InvitationOut:
            view = await invitations.invite(membership, data.email, data.roles)
            return to_schema(view, InvitationOut)

        return await idempotency.respond(
            key=idempotency_key,
            caller=principal.user_id,
            operation=f"createInvitation:{org_id}",
            request=data,
            produce=produce,
            result_type=InvitationOut,
        )


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
        invitations: NamedDependency[InvitationService],
        client_info: NamedDependency[ClientInfo],
    ) -> InvitationAcceptedOut:
        return to_schema(
            await invitations.accept(principal, token, client_info), InvitationAcceptedOut
        )
