"""Invitations: sent, listed, revoked and resent under /orgs/{orgId}/invitations (all
needing identity.invitations.manage), accepted at /invitations/{token}."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hub.identity.api import Membership
from hub.identity.deps import PeopleController
from hub.identity.domain.roles import INVITATIONS_MANAGE
from hub.identity.schemas.orgs import InvitationAcceptedOut, InvitationIn, InvitationOut
from hub.identity.services.invitations import InvitationService
from hub.identity.services.pending_invitations import PendingInvitations
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.ratelimit import rate_limit
from hub.kernel.security import Principal
from hub.kernel.tenancy import permission
from hub.kernel.web import (
    BEARER_OR_KEY,
    ClientInfo,
    Cursor,
    Idempotency,
    IdempotencyKey,
    Limit,
    page_as,
    to_schema,
)


class InvitationController(Controller):
    path = "/orgs/{org_id:uuid}/invitations"
    tags = ["Identity: organisations"]
    security = BEARER_OR_KEY

    @post(
        operation_id="createInvitation",
        opt={**rate_limit("sends"), **problems(409, 422)},
        summary="Invite someone by e-mail (invitations.manage)",
        description="E-mails a single-use link that expires; a newer invitation to the same "
        "address replaces the older one. Accepts an `Idempotency-Key` header. 429 "
        "`rate_limited` once the organisation has sent HUB_RATE_LIMIT_INVITATIONS_PER_ORG "
        "invitations, or the address has had HUB_RATE_LIMIT_MAIL_PER_ADDRESS mails, within "
        "their windows (`extra.policy` names which).",
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

    @get(
        operation_id="listInvitations",
        summary="Pending invitations, oldest first (invitations.manage)",
        description="Neither accepted, revoked nor expired.",
        guards=[permission(INVITATIONS_MANAGE)],
    )
    async def list_invitations(
        self,
        membership: NamedDependency[Membership],
        pending_invitations: NamedDependency[PendingInvitations],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[InvitationOut]:
        page = await pending_invitations.page(membership, limit=limit, cursor=cursor)
        return page_as(page, InvitationOut)

    @delete(
        "/{invitation_id:uuid}",
        status_code=204,
        operation_id="revokeInvitation",
        opt=problems(409),
        summary="Withdraw an invitation: its link stops working (invitations.manage)",
        description="Only someone holding every permission of its roles may withdraw it "
        "(`permission_not_held`); 409 `invitation_accepted` once it was accepted.",
        guards=[permission(INVITATIONS_MANAGE)],
    )
    async def revoke_invitation(
        self,
        membership: NamedDependency[Membership],
        invitation_id: FromPath[uuid.UUID],
        pending_invitations: NamedDependency[PendingInvitations],
    ) -> None:
        await pending_invitations.revoke(membership, invitation_id)

    @post(
        "/{invitation_id:uuid}/resend",
        status_code=200,
        operation_id="resendInvitation",
        opt={**rate_limit("sends"), **problems(409)},
        summary="E-mail a new link with a new expiry; the old link stops working "
        "(invitations.manage)",
        description="Works on expired invitations too. The caller becomes the inviter, so "
        "they must hold every permission of its roles (`permission_not_held`). Accepts an "
        "`Idempotency-Key` header (a retry does not send a second mail). Counts against "
        "the same limits as sending one (429 `rate_limited`).",
        guards=[permission(INVITATIONS_MANAGE)],
    )
    async def resend_invitation(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        invitation_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        pending_invitations: NamedDependency[PendingInvitations],
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[InvitationOut]:

        async def produce() -> InvitationOut:
            return to_schema(
                await pending_invitations.resend(membership, invitation_id), InvitationOut
            )

        return await idempotency.respond(
            key=idempotency_key,
            caller=principal.user_id,
            operation=f"resendInvitation:{org_id}:{invitation_id}",
            request=None,
            produce=produce,
            result_type=InvitationOut,
            status_code=200,
        )


class InvitationAcceptController(PeopleController):
    path = "/invitations"
    tags = ["Identity: organisations"]

    @post(
        "/{token:str}/accept",
        status_code=200,
        operation_id="acceptInvitation",
        opt=problems(409, 422),
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
