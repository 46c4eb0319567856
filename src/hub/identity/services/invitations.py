"""Invitations by e-mail: an expiring, single-use link only the invited address can use.

The token (256 random bits) is stored as SHA-256; accepting it needs a signed-in user
whose (normalised) address is the invited one, and guessing tokens is throttled per
client address like every other secret.

An invitation is only as good as its inviter's standing when it is used: acceptance
re-reads the inviter's membership and refuses (and revokes) the invitation unless they
still hold ``identity.invitations.manage`` and everything its roles grant. Members who
manage invitations list, revoke and resend them (``services.pending_invitations``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.identity.api import InvitationResent, InvitationSent, MemberAdded
from hub.identity.api import Membership as Actor
from hub.identity.domain.emails import is_valid_email, normalise_email
from hub.identity.domain.roles import MEMBER
from hub.identity.domain.secrets import new_token, token_hash
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import Invitation, Membership, Organisation, Role, User
from hub.identity.repositories.memberships import add_member
from hub.identity.services.access import AccessService, require_user_session
from hub.identity.services.invitation_standing import (
    invited_roles,
    stands_behind,
    withdraw,
)
from hub.identity.services.mail import IdentityMail
from hub.identity.services.mail_limits import MailLimits
from hub.identity.services.mfa import publish_lock
from hub.identity.services.roles import RoleService, resolve_roles
from hub.identity.services.throttle import Throttle
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import Conflict, FieldError, Forbidden, Invalid, Unauthorized
from hub.kernel.problems import refusal
from hub.kernel.schema import new_id
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.web import ClientInfo, overlay

INVITATION_PREFIX = "hub_inv_"


invalid_invitation = refusal(
    Invalid, "The invitation is invalid, expired or was already used.", code="invalid_token"
)


invitation_withdrawn = refusal(
    Invalid,
    "The person who sent this invitation can no longer invite you with these roles, "
    "so it was withdrawn: ask the organisation for a new one.",
    code="invitation_revoked",
)


already_member = refusal(
    Conflict, "This person is already a member of the organisation.", code="already_member"
)


def expiry(settings: IdentitySettings, now: datetime) -> datetime:
    return now + timedelta(seconds=settings.invitation_ttl_seconds)


def view_of(invitation: Any, names: list[str]) -> Any:
    """An invitation as answered: its row with its roles by name."""
    return overlay(invitation, roles=names)


async def is_member(session: AsyncSession, organisation_id: uuid.UUID, email: str) -> bool:
    """Whether the account with this (normalised) address is a member already."""
    found = await session.scalar(
        select(Membership.user_id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organisation_id == organisation_id, User.email == email)
    )
    return found is not None


async def send_invitation(
    mail: IdentityMail,
    uow: UnitOfWork,
    event: type[InvitationSent | InvitationResent],
    invitation: Invitation,
    roles: Sequence[Role],
    organisation: Organisation,
    token: str,
) -> Any:
    """Queue the invitation mail (its link carries ``token``) and ``event`` in ``uow``, from
    the invitation's (new) inviter; the invitation as answered."""
    sender = invitation.invited_by
    inviter = await uow.session.get(User, sender)
    names = [r.name for r in roles]
    mail.invitation(
        uow,
        to=invitation.email,
        organisation=organisation.name,
        inviter=inviter.display_name if inviter else "Someone",
        roles=names,
        token=token,
    )
    uow.publish(
        event(
            actor_id=sender,
            organisation_id=invitation.organisation_id,
            invitation_id=invitation.id,
            email=invitation.email,
            roles=names,
        )
    )
    return view_of(invitation, names)


@dataclass(eq=False)
class InvitationService:
    store: Store
    settings: IdentitySettings
    throttle: Throttle
    mail: IdentityMail
    access: AccessService
    roles: RoleService
    limits: MailLimits
    clock: Clock

    async def invite(
        self,
        actor: Actor,
        email_raw: str,
        role_refs: list[str] | None,
    ) -> Any:
        organisation_id = actor.organisation_id
        email = normalise_email(email_raw)
        if not is_valid_email(email):
            message = "Enter a valid e-mail address."
            raise Invalid(message, errors=[FieldError(field="email", message=message)])
        now = self.clock()
        async with self.store.uow() as uow:
            organisation = await uow.session.get(Organisation, organisation_id)
            if organisation is None:
                raise Invalid("No such organisation.")  # deleted meanwhile
            roles = await resolve_roles(
                uow.session, organisation_id, role_refs or [MEMBER], field="roles"
            )
            self.access.require_holds(actor, self.roles.permissions_of(roles))
            if await is_member(uow.session, organisation_id, email):
                raise already_member()
            await self.limits.invitation(organisation_id, email)
            # A new invitation supersedes an older one to the same address.
            await uow.session.execute(
                update(Invitation)
                .where(
                    Invitation.organisation_id == organisation_id,
                    Invitation.email == email,
                    Invitation.accepted_at.is_(None),
                    Invitation.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
            raw = new_token(INVITATION_PREFIX)
            invitation = Invitation(
                id=new_id(),
                organisation_id=organisation_id,
                email=email,
                role_ids=[r.id for r in roles],
                token_hash=token_hash(raw),
                invited_by=actor.user_id,
                created_at=now,
                expires_at=expiry(self.settings, now),
            )
            uow.session.add(invitation)
            answer = await send_invitation(
                self.mail, uow, InvitationSent, invitation, roles, organisation, raw
            )
            await uow.commit()
        return answer

    async def accept(self, principal: Principal, raw: str, client: ClientInfo) -> dict[str, Any]:
        require_user_session(principal)
        throttle = self.throttle
        attempt = await throttle.acquire(throttle.ip(client.ip))
        if not attempt.allowed:
            await publish_lock(
                self.store, attempt, user_id=principal.user_id, email=None, ip=client.ip
            )
            raise invalid_invitation()
        now = self.clock()
        async with self.store.uow() as uow:
            invitation = await uow.session.scalar(
                select(Invitation)
                .where(
                    Invitation.token_hash == token_hash(raw),
                    Invitation.accepted_at.is_(None),
                    Invitation.revoked_at.is_(None),
                    Invitation.expires_at > now,
                )
                .with_for_update()
            )
            if invitation is None:
                raise invalid_invitation()
            # The token was right: whatever follows, it was not a guess.
            await throttle.succeeded(attempt)
            user = await uow.session.get(User, principal.user_id)
            if user is None or user.disabled_at is not None:
                raise Unauthorized("The account is not available.", code="invalid_token")
            if normalise_email(user.email) != invitation.email:
                raise Forbidden(
                    "This invitation was sent to another address: sign in with that one.",
                    code="invitation_email_mismatch",
                )
            organisation_id = invitation.organisation_id
            exists = await uow.session.scalar(
                select(Membership.user_id).where(
                    Membership.organisation_id == organisation_id,
                    Membership.user_id == user.id,
                )
            )
            if exists is not None:
                raise already_member()
            roles = await invited_roles(uow.session, invitation)
            if not await stands_behind(uow.session, self.roles, invitation, roles):
                withdraw(uow, invitation, user.id, now)
                await uow.commit()
                raise invitation_withdrawn()
            if not await add_member(
                uow.session,
                organisation_id,
                user.id,
                [r.id for r in roles],
                at=now,
                invited_by=invitation.invited_by,
            ):
                raise already_member()  # joined another way since the check above
            invitation.accepted_at = now
            invitation.accepted_by = user.id
            names = [r.name for r in roles]
            uow.publish(
                MemberAdded(
                    actor_id=user.id,
                    organisation_id=organisation_id,
                    user_id=user.id,
                    roles=names,
                    via="invitation",
                )
            )
            organisation = await uow.session.get(Organisation, organisation_id)
            await self.access.cache.commit(uow)
        return {
            "organisation_id": organisation_id,
            "organisation_name": organisation.name if organisation else "",
            "roles": names,
        }
