"""What identity holds about a person (their export, GDPR Articles 15 and 20) and the
erasure of their account (Article 17).

Erasure deletes the account and what hangs off it (sessions, refresh tokens, second
factors, passkeys, API keys, memberships, e-mail tokens), clears the person's id where
others' rows name them (who invited whom, who revoked a key) and deletes the invitations
sent to their address, all in one transaction that publishes ``identity.user_erased``;
every other context handles that event. An owner who is the only owner of an
organisation must hand it over first (409 ``sole_owner``): the organisation would be
left without anyone able to manage it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text

from hub.identity.api import UserErased
from hub.identity.domain.roles import OWNER
from hub.identity.domain.settings import IdentitySettings
from hub.identity.services.access import AccessService, require_user_session
from hub.identity.services.membership_cache import MembershipCache
from hub.identity.services.sessions import SessionService
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.erasure import ErasedPerson, forget_published_events
from hub.kernel.errors import Conflict
from hub.kernel.personal_data import PersonalDataApi, PersonalDataExport, records
from hub.kernel.security import Principal, require_recent_authentication, unauthorized
from hub.kernel.store import Store

_PROFILE = text(
    "SELECT id, email, display_name, created_at, email_verified_at, password_changed_at,"
    " mfa_enabled, is_platform_admin, disabled_at FROM identity.users WHERE id = :user_id"
)
_SESSIONS = text(
    "SELECT id, created_at, last_seen_at, auth_time, amr, user_agent, ip, revoked_at,"
    " revoked_reason FROM identity.sessions WHERE user_id = :user_id ORDER BY created_at"
)
_MEMBERSHIPS = text(
    "SELECT m.organisation_id, o.name AS organisation_name, m.created_at AS joined_at,"
    " m.invited_by, coalesce(array_agg(r.name ORDER BY r.name)"
    " FILTER (WHERE r.name IS NOT NULL), '{}') AS roles"
    " FROM identity.memberships m JOIN identity.organisations o ON o.id = m.organisation_id"
    " LEFT JOIN identity.member_roles mr"
    "   ON mr.organisation_id = m.organisation_id AND mr.user_id = m.user_id"
    " LEFT JOIN identity.roles r ON r.id = mr.role_id"
    " WHERE m.user_id = :user_id GROUP BY m.organisation_id, o.name, m.created_at, m.invited_by"
    " ORDER BY m.created_at"
)
_API_KEYS = text(
    "SELECT id, organisation_id, name, public_id, permissions, created_at, expires_at,"
    " last_used_at, revoked_at FROM identity.api_keys WHERE user_id = :user_id"
    " ORDER BY created_at"
)
_PASSKEYS = text(
    "SELECT id, name, aaguid, transports, created_at, last_used_at FROM identity.passkeys"
    " WHERE user_id = :user_id ORDER BY created_at"
)
_SSO_LINKS = text(
    "SELECT s.id, s.provider_id, p.name AS provider_name, p.issuer, s.subject,"
    " s.created_at AS linked_at FROM identity.sso_identities s"
    " JOIN identity.identity_providers p ON p.id = s.provider_id"
    " WHERE s.user_id = :user_id ORDER BY s.created_at"
)
_INVITATIONS = text(
    "SELECT id, organisation_id, created_at, expires_at, accepted_at FROM identity.invitations"
    " WHERE invited_by = :user_id OR accepted_by = :user_id ORDER BY created_at"
)
_TOTP = text("SELECT count(*) FROM identity.totp_credentials WHERE user_id = :user_id")


ARCHIVE_FORMAT = "hub.personal-data/1"


@dataclass(eq=False)
class PersonalDataArchives:
    """The archive of ``GET /auth/me/export``: every context's part, collected through the
    kernel's :class:`~hub.kernel.personal_data.PersonalDataExport` (in process or remote)."""

    clock: Clock

    async def archive(self, principal: Principal, export: PersonalDataExport) -> dict[str, Any]:
        require_user_session(principal)
        return {
            "format": ARCHIVE_FORMAT,
            "user_id": principal.user_id,
            "exported_at": self.clock(),
            "contexts": await export.export(principal.user_id),
        }


@dataclass(eq=False)
class IdentityPersonalData(PersonalDataApi):
    """Identity's part of the export: the account, sessions, memberships, API keys,
    passkeys and identity-provider links (never a secret, a hash or a sealed value),
    invitations the person sent."""

    store: Store

    async def export_personal_data(self, user_id: uuid.UUID) -> dict[str, Any]:
        params = {"user_id": user_id}
        account = records(await self.store.all(_PROFILE, params))
        return {
            "account": account[0] if account else None,
            "sessions": records(await self.store.all(_SESSIONS, params)),
            "memberships": records(await self.store.all(_MEMBERSHIPS, params)),
            "apiKeys": records(await self.store.all(_API_KEYS, params)),
            "passkeys": records(await self.store.all(_PASSKEYS, params)),
            "ssoLinks": records(await self.store.all(_SSO_LINKS, params)),
            "totpEnabled": bool(await self.store.scalar(_TOTP, params)),
            "invitationsSentOrAccepted": records(await self.store.all(_INVITATIONS, params)),
        }


_OWNED = text(
    "SELECT m.organisation_id, bool_or(r.builtin = :owner) AS is_owner"
    " FROM identity.memberships m LEFT JOIN identity.member_roles mr"
    "   ON mr.organisation_id = m.organisation_id AND mr.user_id = m.user_id"
    " LEFT JOIN identity.roles r ON r.id = mr.role_id"
    " WHERE m.user_id = :user_id GROUP BY m.organisation_id ORDER BY m.organisation_id"
).bindparams(bindparam("owner", OWNER))
#: The owner (other than the person) an organisation's records are handed to: the one
#: who has been a member longest.
_SUCCESSOR = text(
    "SELECT m.user_id FROM identity.memberships m"
    " JOIN identity.member_roles mr"
    "   ON mr.organisation_id = m.organisation_id AND mr.user_id = m.user_id"
    " JOIN identity.roles r ON r.id = mr.role_id AND r.builtin = :owner"
    " JOIN identity.users u ON u.id = m.user_id AND u.disabled_at IS NULL"
    " WHERE m.organisation_id = :org AND m.user_id <> :user_id"
    " ORDER BY m.created_at, m.user_id LIMIT 1"
).bindparams(bindparam("owner", OWNER))
_CLEAR_REFERENCES = (
    "UPDATE identity.memberships SET invited_by = NULL WHERE invited_by = :user_id",
    "UPDATE identity.invitations SET invited_by = NULL WHERE invited_by = :user_id",
    "UPDATE identity.invitations SET accepted_by = NULL WHERE accepted_by = :user_id",
    "UPDATE identity.api_keys SET revoked_by = NULL WHERE revoked_by = :user_id",
    "DELETE FROM identity.invitations WHERE lower(email) = lower(:email)",
)


def sole_owner(organisation_ids: list[uuid.UUID]) -> Conflict:
    return Conflict(
        "You are the only owner of an organisation: hand it over "
        "(POST /orgs/{orgId}/ownership) or delete it before erasing your account.",
        code="sole_owner",
        extra={"organisationIds": [str(o) for o in organisation_ids]},
    )


@dataclass(eq=False)
class AccountErasure:
    store: Store
    settings: IdentitySettings
    sessions: SessionService
    cache: MembershipCache

    async def erase(self, principal: Principal) -> uuid.UUID:
        """Delete the caller's account (a person's recent sign-in required) and publish
        ``identity.user_erased``; answers the pseudonym other contexts put in its place."""
        require_user_session(principal)
        require_recent_authentication(principal, self.settings.recent_auth_seconds)
        user_id = principal.user_id
        pseudonym = uuid.uuid4()
        async with self.store.uow() as uow:
            session = uow.session
            email = await session.scalar(
                text("SELECT email FROM identity.users WHERE id = :user_id FOR UPDATE"),
                {"user_id": user_id},
            )
            if email is None:
                raise unauthorized("This account no longer exists.")
            memberships = (await session.execute(_OWNED, {"user_id": user_id})).all()
            successors: dict[uuid.UUID, uuid.UUID] = {}
            alone: list[uuid.UUID] = []
            for organisation_id, is_owner in memberships:
                # Member changes of one organisation wait for each other (the last-owner
                # rule of every member change relies on this lock).
                await AccessService.lock_organisation(session, organisation_id)
                successor = await session.scalar(
                    _SUCCESSOR, {"org": organisation_id, "user_id": user_id}
                )
                if successor is None and is_owner:
                    alone.append(organisation_id)
                elif successor is not None:
                    successors[organisation_id] = successor
            if alone:
                raise sole_owner(alone)
            live = list(
                await session.scalars(
                    text(
                        "SELECT id FROM identity.sessions"
                        " WHERE user_id = :user_id AND revoked_at IS NULL"
                    ),
                    {"user_id": user_id},
                )
            )
            for statement in _CLEAR_REFERENCES:
                await session.execute(text(statement), {"user_id": user_id, "email": email})
            # Sessions, refresh tokens, second factors, recovery codes, passkeys, API keys,
            # e-mail tokens, memberships and their roles go with the row (ON DELETE
            # CASCADE); an organisation it created keeps existing (created_by: SET NULL).
            await session.execute(
                text("DELETE FROM identity.users WHERE id = :user_id"), {"user_id": user_id}
            )
            uow.publish(
                UserErased(
                    actor_id=pseudonym,
                    actor_type="user",
                    user_id=user_id,
                    email=email,
                    pseudonym=pseudonym,
                    successors=successors,
                )
            )
            await uow.commit()
        await self.sessions.stop_access_tokens(live)
        for organisation_id, _ in memberships:
            await self.cache.forget(organisation_id)
        return pseudonym


async def forget_erased_events(uow: UnitOfWork, event: UserErased) -> None:
    """Identity's own outbox: its published events naming the person, and the erasure
    event itself, which has reached its subscribers by now (this handler is one)."""
    person = ErasedPerson(user_id=event.user_id, email=event.email, pseudonym=event.pseudonym)
    await forget_published_events(uow, person, event_id=event.event_id)
