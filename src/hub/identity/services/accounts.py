"""Accounts: registration, address verification, profile, password change and reset.

Registration and "forgot password" answer the same whether or not the address has an
account: registering a taken address e-mails its owner instead (with a reset link, so a
squatter who registered someone else's address first cannot keep it), and a reset request
for an unknown address simply sends nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from hub.identity.api import (
    ApiKeyRevoked,
    PasswordChanged,
    PasswordReset,
    UserDisabled,
    UserEmailVerified,
    UserRegistered,
)
from hub.identity.domain.emails import is_valid_email, normalise_email
from hub.identity.domain.passwords import password_problems
from hub.identity.domain.secrets import IdentitySecrets, keyed_hash, new_token, token_hash
from hub.identity.models import ApiKey, EmailToken, Session, User
from hub.identity.repositories.users import UserRecord, user_by_email, user_by_id
from hub.identity.services.auth import AuthService
from hub.identity.services.mail import IdentityMail
from hub.identity.services.mfa import publish_lock
from hub.identity.services.passwords import PasswordHasher
from hub.identity.services.sessions import SessionService
from hub.identity.services.throttle import Attempt, Throttle
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import Conflict, FieldError, Invalid, Unauthorized
from hub.kernel.security import Principal, require_recent_authentication
from hub.kernel.settings import Settings
from hub.kernel.store import Store
from hub.kernel.web import ClientInfo

VERIFY_EMAIL = "verify_email"
CHANGE_EMAIL = "change_email"
RESET_PASSWORD = "reset_password"  # noqa: S105
EMAIL_TOKEN_PREFIX = "hub_et_"  # noqa: S105
MAX_DISPLAY_NAME = 120


def _profile_by_session() -> Select[Any]:
    u, s = User.__table__, Session.__table__
    return (
        select(
            u.c.id,
            u.c.email,
            u.c.display_name,
            u.c.email_verified_at,
            u.c.mfa_enabled,
            u.c.is_platform_admin,
            u.c.created_at,
        )
        .join(s, s.c.user_id == u.c.id)
        .where(
            u.c.id == bindparam("user_id"),
            s.c.id == bindparam("session_id"),
            s.c.revoked_at.is_(None),
            u.c.disabled_at.is_(None),
        )
    )


#: Built once: constructing the expression per request costs more than running it.
_PROFILE_BY_SESSION = _profile_by_session()


@dataclass(frozen=True)
class Profile:
    id: uuid.UUID
    email: str
    display_name: str
    email_verified: bool
    mfa_enabled: bool
    is_platform_admin: bool
    created_at: datetime


def _profile(user: UserRecord) -> Profile:
    return Profile(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        email_verified=user.email_verified_at is not None,
        mfa_enabled=user.mfa_enabled,
        is_platform_admin=user.is_platform_admin,
        created_at=user.created_at,
    )


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, errors=[FieldError(field=field, message=message, source="body")])


def clean_display_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise _invalid("displayName", "Enter a display name.")
    if len(name) > MAX_DISPLAY_NAME:
        raise _invalid("displayName", f"Use at most {MAX_DISPLAY_NAME} characters.")
    return name


def clean_email(raw: str) -> str:
    email = normalise_email(raw)
    if not is_valid_email(email):
        raise _invalid("email", "Enter a valid e-mail address.")
    return email


def check_password_policy(password: str, *, field: str, email: str, display_name: str) -> None:
    problems = password_problems(password, email=email, display_name=display_name)
    if problems:
        raise Invalid(
            problems[0],
            code="weak_password",
            errors=[FieldError(field=field, message=p, source="body") for p in problems],
        )


def invalid_email_token() -> Invalid:
    return Invalid(
        "The link is invalid, expired or was already used.",
        code="invalid_token",
        status_code=400,
    )


class AccountService:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        secrets: IdentitySecrets,
        hasher: PasswordHasher,
        throttle: Throttle,
        mail: IdentityMail,
        sessions: SessionService,
        auth: AuthService,
    ) -> None:
        self.store = store
        self.settings = settings
        self.secrets = secrets
        self.hasher = hasher
        self.throttle = throttle
        self.mail = mail
        self.sessions = sessions
        self.auth = auth

    # ------------------------------------------------------------------ tokens by e-mail

    def _binding(self, password_hash: str) -> bytes:
        return keyed_hash(self.secrets.binding_key, password_hash)

    def _email_token(
        self, uow: UnitOfWork, user: UserRecord, purpose: str, *, email: str, ttl_seconds: int
    ) -> str:
        raw = new_token(EMAIL_TOKEN_PREFIX)
        now = datetime.now(UTC)
        uow.session.add(
            EmailToken(
                user_id=user.id,
                purpose=purpose,
                token_hash=token_hash(raw),
                email=email,
                binding=self._binding(user.password_hash),
                created_at=now,
                expires_at=now + timedelta(seconds=ttl_seconds),
            )
        )
        return raw

    async def _consume(self, uow: UnitOfWork, raw: str, purposes: tuple[str, ...]) -> EmailToken:
        """Mark an e-mail token used, atomically: two concurrent uses cannot both succeed."""
        now = datetime.now(UTC)
        token: EmailToken | None = await uow.session.scalar(
            update(EmailToken)
            .where(
                EmailToken.token_hash == token_hash(raw),
                EmailToken.purpose.in_(purposes),
                EmailToken.used_at.is_(None),
                EmailToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(EmailToken)
        )
        if token is None:
            raise invalid_email_token()
        return token

    async def _throttled_token_use(self, client: ClientInfo) -> Attempt:
        throttle = self.throttle
        attempt = await throttle.acquire(throttle.ip(client.ip))
        if not attempt.allowed:
            await publish_lock(self.store, attempt, user_id=None, email=None, ip=client.ip)
            raise invalid_email_token()
        return attempt

    # ------------------------------------------------------------------ registration

    async def register(self, email_raw: str, password: str, display_name_raw: str) -> None:
        email = clean_email(email_raw)
        display_name = clean_display_name(display_name_raw)
        check_password_policy(password, field="password", email=email, display_name=display_name)
        # Hash before looking the address up: both outcomes pay for one argon2 hash.
        password_hash = await self.hasher.hash(password)
        existing = await user_by_email(self.store, email)
        if existing is None:
            try:
                await self._create(email, display_name, password_hash)
                return
            except IntegrityError:  # registered concurrently: treat as taken
                existing = await user_by_email(self.store, email)
                if existing is None:
                    raise
        async with self.store.uow() as uow:
            token = self._reset_token(uow, existing)
            self.mail.account_exists(
                uow, to=existing.email, display_name=existing.display_name, token=token
            )
            await uow.commit()

    def _reset_token(self, uow: UnitOfWork, user: UserRecord) -> str:
        """A password-reset token for ``user``'s current address, bound to its password."""
        return self._email_token(
            uow,
            user,
            RESET_PASSWORD,
            email=user.email,
            ttl_seconds=self.settings.password_reset_ttl_seconds,
        )

    async def _create(self, email: str, display_name: str, password_hash: str) -> None:
        async with self.store.uow() as uow:
            user = User(email=email, display_name=display_name, password_hash=password_hash)
            uow.session.add(user)
            await uow.session.flush()
            token = self._email_token(
                uow,
                user,
                VERIFY_EMAIL,
                email=email,
                ttl_seconds=self.settings.email_verification_ttl_seconds,
            )
            self.mail.verify_email(uow, to=email, display_name=display_name, token=token)
            uow.publish(
                UserRegistered(
                    actor_id=user.id, user_id=user.id, email=email, display_name=display_name
                )
            )
            await uow.commit()

    async def verify_email(self, raw: str, client: ClientInfo) -> None:
        attempt = await self._throttled_token_use(client)
        async with self.store.uow() as uow:
            token = await self._consume(uow, raw, (VERIFY_EMAIL, CHANGE_EMAIL))
            user = await uow.session.get(User, token.user_id, with_for_update=True)
            if user is None:
                raise invalid_email_token()
            if token.purpose == CHANGE_EMAIL:
                taken = await uow.session.scalar(
                    select(User.id).where(User.email == token.email, User.id != user.id)
                )
                if taken is not None:
                    raise Conflict(
                        "That address now belongs to another account.", code="email_taken"
                    )
                user.email = token.email
            elif user.email != token.email:
                raise invalid_email_token()
            user.email_verified_at = user.email_verified_at or datetime.now(UTC)
            if token.purpose == CHANGE_EMAIL:
                user.email_verified_at = datetime.now(UTC)
            uow.publish(UserEmailVerified(actor_id=user.id, user_id=user.id, email=user.email))
            await uow.commit()
        await self.throttle.succeeded(attempt)

    # ------------------------------------------------------------------ profile

    async def profile(self, principal: Principal) -> Profile:
        """The caller's profile, read together with its session row: one query that also
        refuses a revoked session, so this hot path needs no revocation lookup in Redis
        (the controller uses the kernel's ``token_principal``)."""
        params = {"user_id": principal.user_id, "session_id": principal.session_id}
        row = (await self.store.fetch(_PROFILE_BY_SESSION, params)).first()
        if row is None:
            raise Unauthorized(
                "The session of this access token has ended.",
                code="invalid_token",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return Profile(
            id=row.id,
            email=row.email,
            display_name=row.display_name,
            email_verified=row.email_verified_at is not None,
            mfa_enabled=row.mfa_enabled,
            is_platform_admin=row.is_platform_admin,
            created_at=row.created_at,
        )

    async def update_profile(
        self, principal: Principal, *, display_name: str | None, email: str | None
    ) -> Profile:
        user = await user_by_id(self.store, principal.user_id)
        if user is None or user.disabled_at is not None:
            raise Unauthorized("The account is not available.", code="invalid_token")
        new_email = clean_email(email) if email is not None else None
        if new_email == user.email:
            new_email = None
        if new_email is not None:
            require_recent_authentication(principal, self.settings.recent_auth_seconds)
        name = clean_display_name(display_name) if display_name is not None else None
        shown = user.display_name
        async with self.store.uow() as uow:
            if name is not None and name != user.display_name:
                await uow.session.execute(
                    update(User).where(User.id == user.id).values(display_name=name)
                )
                shown = name
            if new_email is not None:
                taken = await uow.session.scalar(select(User.id).where(User.email == new_email))
                if taken is None:
                    token = self._email_token(
                        uow,
                        user,
                        CHANGE_EMAIL,
                        email=new_email,
                        ttl_seconds=self.settings.email_verification_ttl_seconds,
                    )
                    self.mail.confirm_new_email(uow, to=new_email, display_name=shown, token=token)
                # A taken address gets no mail and the same answer: no enumeration here.
            await uow.commit()
        return replace(_profile(user), display_name=shown)

    # ------------------------------------------------------------------ passwords

    async def change_password(
        self,
        principal: Principal,
        current: str,
        new: str,
        client: ClientInfo,
        *,
        end_other_sessions: bool,
    ) -> int:
        user = await user_by_id(self.store, principal.user_id)
        if user is None:
            raise Unauthorized("The account is not available.", code="invalid_token")
        try:
            await self.auth.check_password(user.email, current, client)
        except Unauthorized:
            raise Unauthorized(
                "The current password is wrong.", code="invalid_current_password"
            ) from None
        check_password_policy(
            new, field="newPassword", email=user.email, display_name=user.display_name
        )
        new_hash = await self.hasher.hash(new)
        now = datetime.now(UTC)
        async with self.store.uow() as uow:
            await uow.session.execute(
                update(User)
                .where(User.id == user.id)
                .values(password_hash=new_hash, password_changed_at=now)
            )
            ended: list[uuid.UUID] = []
            if end_other_sessions:
                ended = await self.sessions.revoke_where(
                    uow, user_id=user.id, reason="password_changed", keep=principal.session_id
                )
            uow.publish(
                PasswordChanged(actor_id=user.id, user_id=user.id, sessions_ended=len(ended))
            )
            self.mail.password_changed(
                uow, to=user.email, display_name=user.display_name, how="changed", when=now
            )
            await uow.commit()
        await self.sessions.stop_access_tokens(ended)
        return len(ended)

    async def forgot_password(self, email_raw: str) -> None:
        """Runs after the response is sent (see the controller), so its timing leaks nothing."""
        email = normalise_email(email_raw)
        if not is_valid_email(email):
            return
        user = await user_by_email(self.store, email)
        if user is None or user.disabled_at is not None:
            return
        async with self.store.uow() as uow:
            token = self._reset_token(uow, user)
            self.mail.password_reset(
                uow, to=user.email, display_name=user.display_name, token=token
            )
            await uow.commit()

    async def reset_password(self, raw: str, new: str, client: ClientInfo) -> None:
        """Set a new password from an e-mailed token. Signs nobody in: with a second factor
        on, the next sign-in still asks for it, so a reset never bypasses MFA."""
        attempt = await self._throttled_token_use(client)
        async with self.store.uow() as uow:
            token = await self._consume(uow, raw, (RESET_PASSWORD,))
            user = await uow.session.get(User, token.user_id, with_for_update=True)
            if user is None or user.disabled_at is not None or user.email != token.email:
                raise invalid_email_token()
            if token.binding != self._binding(user.password_hash):
                raise invalid_email_token()  # the password changed since the link was sent
            check_password_policy(
                new, field="newPassword", email=user.email, display_name=user.display_name
            )
            # Hashing holds the row lock ~50 ms; acceptable for a rare, token-gated action.
            now = datetime.now(UTC)
            user.password_hash = await self.hasher.hash(new)
            user.password_changed_at = now
            newly_verified = user.email_verified_at is None
            user.email_verified_at = user.email_verified_at or now
            ended = await self.sessions.revoke_where(uow, user_id=user.id, reason="password_reset")
            uow.publish(PasswordReset(actor_id=user.id, user_id=user.id, sessions_ended=len(ended)))
            if newly_verified:
                uow.publish(UserEmailVerified(actor_id=user.id, user_id=user.id, email=user.email))
            self.mail.password_changed(
                uow, to=user.email, display_name=user.display_name, how="reset", when=now
            )
            await uow.commit()
        await self.sessions.stop_access_tokens(ended)
        await self.throttle.succeeded(attempt)

    # ------------------------------------------------------------------ administration

    async def create_verified_user(
        self, email_raw: str, password: str, display_name_raw: str, *, platform_admin: bool
    ) -> uuid.UUID:
        """An operator's shortcut (``hub users create``): no e-mail round trip."""
        email = clean_email(email_raw)
        display_name = clean_display_name(display_name_raw)
        check_password_policy(password, field="password", email=email, display_name=display_name)
        password_hash = await self.hasher.hash(password)
        now = datetime.now(UTC)
        async with self.store.uow() as uow:
            taken = await uow.session.scalar(select(User.id).where(User.email == email))
            if taken is not None:
                raise Conflict("An account already uses this address.", code="email_taken")
            user = User(
                email=email,
                display_name=display_name,
                password_hash=password_hash,
                email_verified_at=now,
                is_platform_admin=platform_admin,
            )
            uow.session.add(user)
            await uow.session.flush()
            uow.publish(UserRegistered(user_id=user.id, email=email, display_name=display_name))
            uow.publish(UserEmailVerified(user_id=user.id, email=email))
            await uow.commit()
        return user.id

    async def find_by_email(self, email: str) -> Any:
        """The account using ``email`` (any spelling of it), or None."""
        return await user_by_email(self.store, normalise_email(email))

    async def disable_user(self, user_id: uuid.UUID, *, actor_id: uuid.UUID | None) -> int:
        """Disable an account, end every one of its sessions and revoke its API keys at
        once (enabling it again restores neither: the person signs in, keys are re-made)."""
        async with self.store.uow() as uow:
            changed = await uow.session.execute(
                update(User)
                .where(User.id == user_id, User.disabled_at.is_(None))
                .values(disabled_at=datetime.now(UTC))
                .returning(User.id)
            )
            if changed.first() is None:
                return 0
            ended = await self.sessions.revoke_where(uow, user_id=user_id, reason="user_disabled")
            keys = await uow.session.execute(
                update(ApiKey)
                .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC), revoked_by=actor_id)
                .returning(ApiKey.id, ApiKey.organisation_id)
            )
            for key_id, organisation_id in keys:
                uow.publish(
                    ApiKeyRevoked(
                        actor_id=actor_id,
                        organisation_id=organisation_id,
                        api_key_id=key_id,
                        user_id=user_id,
                    )
                )
            uow.publish(
                UserDisabled(
                    actor_id=actor_id,
                    user_id=user_id,
                    sessions_ended=len(ended),
                )
            )
            await uow.commit()
        await self.sessions.stop_access_tokens(ended)
        return len(ended)
