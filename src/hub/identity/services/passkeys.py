"""Passkeys (WebAuthn credentials): registering them, listing, renaming, removing, and
checking an authenticator's answer in every ceremony that signs someone in.

The maintained ``webauthn`` library verifies what the authenticator signed (challenge,
origin, RP id hash, user presence and verification, signature, counter); this module
keeps the rest: challenges come from :mod:`services.passkey_challenges` (single use), a
credential must belong to the account the ceremony is for, and the stored counter moves
forward with a conditional UPDATE, so a cloned authenticator (its counter behind the
stored one) and a concurrent second use of the same answer are refused.

User verification (PIN or biometrics on the authenticator) is required in every
ceremony: a passkey is then two factors at once, which is why it may sign someone in
alone and counts as the second factor and as a step-up (methods ``hwk`` + ``mfa``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_authenticator_data,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from hub.identity.api import PasskeyRegistered, PasskeyRemoved
from hub.identity.domain.accounts import keep_a_way_in
from hub.identity.domain.passkeys import RelyingParty, clean_passkey_name
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import Passkey
from hub.identity.repositories.users import UserRecord, user_by_id
from hub.identity.repositories.ways_in import ways_in_without
from hub.identity.services.mfa import login_failed
from hub.identity.services.passkey_challenges import REGISTER, PasskeyChallenges, Pending
from hub.identity.services.sessions import now_utc
from hub.identity.services.throttle import Throttle
from hub.kernel.errors import Conflict, Invalid, NotFound, Unauthorized
from hub.kernel.pagination import Page
from hub.kernel.problems import refusal
from hub.kernel.security import Principal, require_recent_authentication
from hub.kernel.store import Store
from hub.kernel.web import ClientInfo

log = structlog.get_logger("hub.identity")

#: How many passkeys one account may hold (a phone, a laptop, two security keys … with room).
MAX_PASSKEYS = 20
#: The RFC 8176 methods a passkey ceremony proves: a key held by the user ("hwk") that
#: verified the user itself ("mfa": possession plus PIN or biometrics).
PASSKEY_METHODS = ("hwk", "mfa")
#: A hint to the browser (milliseconds); the server-side challenge lifetime is the limit.
_TIMEOUT_MS = 120_000


invalid_passkey = refusal(
    Unauthorized,
    "The passkey could not be verified; try again or use another way to sign in.",
    code="invalid_passkey",
)


invalid_challenge = refusal(
    Unauthorized,
    "The passkey challenge expired, was already used or is unknown; start again.",
    code="invalid_passkey_challenge",
)


@dataclass(frozen=True)
class Options:
    """What the browser hands to ``navigator.credentials`` (``publicKey``), and the id of
    the server-side challenge to send back with the answer."""

    challenge_id: str
    public_key: dict[str, Any]


@dataclass(frozen=True)
class Asserted:
    """A verified assertion: whose passkey signed, and which."""

    user: UserRecord
    passkey_id: uuid.UUID


def _public_key(options: Any) -> dict[str, Any]:
    decoded: dict[str, Any] = msgspec.json.decode(options_to_json(options))
    return decoded


def _transports(names: list[str]) -> list[AuthenticatorTransport]:
    known = {t.value for t in AuthenticatorTransport}
    return [AuthenticatorTransport(n) for n in names if n in known]


@dataclass(eq=False)
class PasskeyService:
    store: Store
    settings: IdentitySettings
    relying_party: RelyingParty
    challenges: PasskeyChallenges
    throttle: Throttle

    # ------------------------------------------------------------------ management

    async def _user(self, principal: Principal) -> UserRecord:
        user = await user_by_id(self.store, principal.user_id)
        if user is None or user.disabled_at is not None:
            raise Unauthorized("The account is not available.", code="invalid_token")
        return user

    async def _descriptors(self, user_id: uuid.UUID) -> list[PublicKeyCredentialDescriptor]:
        rows = await self.store.all(
            select(Passkey.credential_id, Passkey.transports).where(Passkey.user_id == user_id)
        )
        return [
            PublicKeyCredentialDescriptor(id=r.credential_id, transports=_transports(r.transports))
            for r in rows
        ]

    async def registration_options(self, principal: Principal) -> Options:
        """Start registering a passkey (needs a recent sign-in, like enrolling TOTP: a
        stolen access token must not add the thief's authenticator)."""
        require_recent_authentication(principal, self.settings.recent_auth_seconds)
        user = await self._user(principal)
        existing = await self._descriptors(user.id)
        if len(existing) >= MAX_PASSKEYS:
            raise Conflict(
                f"An account holds at most {MAX_PASSKEYS} passkeys; remove one first.",
                code="too_many_passkeys",
            )
        challenge_id, challenge = await self.challenges.issue(REGISTER, user_id=user.id)
        rp = self.relying_party
        options = generate_registration_options(
            rp_id=rp.id,
            rp_name=rp.name,
            user_name=user.email,
            user_id=user.id.bytes,
            user_display_name=user.display_name,
            challenge=challenge,
            timeout=_TIMEOUT_MS,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=existing,
        )
        return Options(challenge_id=challenge_id, public_key=_public_key(options))

    async def register(
        self, principal: Principal, challenge_id: str, name: str, credential: dict[str, Any]
    ) -> Any:
        """Finish registering: check the authenticator's attestation against the challenge
        and store the credential's public key under ``name``."""
        require_recent_authentication(principal, self.settings.recent_auth_seconds)
        name = clean_passkey_name(name)
        pending = await self.challenges.take(challenge_id, REGISTER)
        if pending is None or pending.user_id != principal.user_id:
            raise Invalid(
                "The registration challenge expired, was already used or is unknown; start again.",
                code="invalid_passkey_challenge",
            )
        try:
            parsed: RegistrationCredential = parse_registration_credential_json(credential)
            verified = verify_registration_response(
                credential=parsed,
                expected_challenge=pending.challenge,
                expected_rp_id=self.relying_party.id,
                expected_origin=list(self.relying_party.origins),
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
            log.info("passkey_registration_refused", reason=str(exc)[:200])
            raise Invalid(
                "The authenticator's answer could not be verified: " + str(exc)[:200],
                code="invalid_passkey",
            ) from None
        row = Passkey(
            user_id=principal.user_id,
            name=name,
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=[t.value for t in parsed.response.transports or []],
            aaguid=verified.aaguid,
            multi_device=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
            backed_up=verified.credential_backed_up,
            created_at=now_utc(),
        )
        try:
            async with self.store.uow() as uow:
                uow.session.add(row)
                await uow.session.flush()
                uow.publish(
                    PasskeyRegistered(
                        actor_id=principal.user_id,
                        user_id=principal.user_id,
                        passkey_id=row.id,
                        name=name,
                    )
                )
                await uow.commit()
        except IntegrityError:
            raise Conflict(
                "This passkey is already registered.", code="passkey_already_registered"
            ) from None
        return row

    async def list(
        self, principal: Principal, *, limit: int | None, cursor: str | None
    ) -> Page[Any]:
        t = Passkey.__table__
        stmt = select(
            t.c.id,
            t.c.name,
            t.c.created_at,
            t.c.last_used_at,
            t.c.transports,
            t.c.multi_device,
            t.c.backed_up,
        ).where(t.c.user_id == principal.user_id)
        return await self.store.page(stmt, t.c.id, limit=limit, cursor=cursor)

    async def rename(self, principal: Principal, passkey_id: uuid.UUID, name: str) -> Any:
        name = clean_passkey_name(name)
        async with self.store.uow() as uow:
            row = await uow.session.scalar(
                update(Passkey)
                .where(Passkey.id == passkey_id, Passkey.user_id == principal.user_id)
                .values(name=name)
                .returning(Passkey)
            )
            if row is None:
                raise NotFound("No such passkey.")
            await uow.commit()
        return row

    async def remove(self, principal: Principal, passkey_id: uuid.UUID) -> None:
        """Needs a recent sign-in (a stolen token must not remove the owner's passkeys) and
        may not take the account's last way in (``domain.accounts.keep_a_way_in``)."""
        require_recent_authentication(principal, self.settings.recent_auth_seconds)
        async with self.store.uow() as uow:
            ways = await ways_in_without(uow.session, principal.user_id, passkey_id=passkey_id)
            gone = await uow.session.scalar(
                delete(Passkey)
                .where(Passkey.id == passkey_id, Passkey.user_id == principal.user_id)
                .returning(Passkey.id)
            )
            if ways is None or gone is None:
                raise NotFound("No such passkey.")
            keep_a_way_in(has_password=ways.has_password, other_ways_in=ways.others)
            uow.publish(
                PasskeyRemoved(
                    actor_id=principal.user_id, user_id=principal.user_id, passkey_id=passkey_id
                )
            )
            await uow.commit()

    async def count(self, user_id: uuid.UUID) -> int:
        return int(
            await self.store.scalar(
                select(func.count()).select_from(Passkey).where(Passkey.user_id == user_id)
            )
        )

    # ------------------------------------------------------------------ assertions

    async def assertion_options(
        self, purpose: str, *, user_id: uuid.UUID | None = None, bound_to: str | None = None
    ) -> Options:
        """Options for ``navigator.credentials.get``: any passkey of this site (a
        discoverable sign-in, ``user_id`` None) or one of ``user_id``'s."""
        allow = await self._descriptors(user_id) if user_id is not None else []
        challenge_id, challenge = await self.challenges.issue(
            purpose, user_id=user_id, bound_to=bound_to
        )
        options = generate_authentication_options(
            rp_id=self.relying_party.id,
            challenge=challenge,
            timeout=_TIMEOUT_MS,
            allow_credentials=allow,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return Options(challenge_id=challenge_id, public_key=_public_key(options))

    async def _refused(
        self, user: UserRecord | None, reason: str, client: ClientInfo, detail: str
    ) -> Unauthorized:
        log.info("passkey_assertion_refused", reason=reason, detail=detail[:200])
        await self.throttle.failed(self.throttle.ip(client.ip))
        async with self.store.uow() as uow:
            login_failed(
                uow,
                user.id if user else None,
                user.email if user else None,
                reason,
                client.ip,
            )
            await uow.commit()
        return invalid_passkey()

    async def verify_assertion(
        self, pending: Pending | None, credential: dict[str, Any], client: ClientInfo
    ) -> Asserted:
        """Check an authenticator's answer to ``pending`` (already taken, so single use);
        on success the passkey's counter and last use are stored."""
        if pending is None:
            raise invalid_challenge()
        if await self.throttle.is_locked(self.throttle.ip(client.ip)):
            raise invalid_passkey()
        try:
            parsed: AuthenticationCredential = parse_authentication_credential_json(credential)
        except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
            raise await self._refused(None, "invalid_passkey", client, str(exc)) from None
        row = (
            await self.store.all(
                select(Passkey.id, Passkey.user_id, Passkey.public_key, Passkey.sign_count).where(
                    Passkey.credential_id == parsed.raw_id
                )
            )
        ) or None
        passkey = row[0] if row else None
        user = await user_by_id(self.store, passkey.user_id) if passkey is not None else None
        if passkey is None or user is None:
            raise await self._refused(None, "invalid_passkey", client, "unknown credential")
        handle = parsed.response.user_handle
        if (pending.user_id is not None and pending.user_id != user.id) or (
            handle is not None and handle != user.id.bytes
        ):
            raise await self._refused(user, "invalid_passkey", client, "another account's")
        try:
            verified = verify_authentication_response(
                credential=parsed,
                expected_challenge=pending.challenge,
                expected_rp_id=self.relying_party.id,
                expected_origin=list(self.relying_party.origins),
                credential_public_key=passkey.public_key,
                credential_current_sign_count=passkey.sign_count,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
            raise await self._refused(
                user, self._reason(parsed, passkey.sign_count), client, str(exc)
            ) from None
        async with self.store.uow() as uow:
            moved = await uow.session.scalar(
                update(Passkey)
                .where(Passkey.id == passkey.id, Passkey.sign_count == passkey.sign_count)
                .values(
                    sign_count=verified.new_sign_count,
                    backed_up=verified.credential_backed_up,
                    last_used_at=now_utc(),
                )
                .returning(Passkey.id)
            )
            await uow.commit()
        if moved is None:  # another request used this passkey in between
            raise await self._refused(user, "invalid_passkey", client, "concurrent use")
        return Asserted(user=user, passkey_id=passkey.id)

    @staticmethod
    def _reason(parsed: AuthenticationCredential, stored: int) -> str:
        """Name a counter that went backwards: the mark of a cloned authenticator."""
        try:
            count = parse_authenticator_data(parsed.response.authenticator_data).sign_count
        except (WebAuthnException, ValueError, TypeError, KeyError, IndexError):
            return "invalid_passkey"
        if (count > 0 or stored > 0) and count <= stored:
            return "passkey_counter_regression"
        return "invalid_passkey"
