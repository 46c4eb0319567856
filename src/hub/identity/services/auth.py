"""Signing in and staying signed in: login, second factor, refresh, logout, step-up.

Every refusal that could tell an attacker something answers like a wrong password: an
unknown address (after a dummy argon2 verification, so it takes as long), a wrong
password and a locked counter all raise the same ``invalid_credentials`` error.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
from redis.asyncio import Redis
from sqlalchemy import exists, select, update

from hub.identity.domain.emails import normalise_email
from hub.identity.domain.secrets import new_token, sealer_for_token, token_hash
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import Passkey, RefreshToken, Session, User
from hub.identity.repositories import refresh_rotation
from hub.identity.repositories.users import UserRecord, user_by_email, user_by_id
from hub.identity.services.mfa import MfaService, invalid_code, login_failed, publish_lock
from hub.identity.services.passwords import PasswordHasher
from hub.identity.services.sessions import REFRESH_PREFIX, IssuedTokens, SessionService
from hub.identity.services.sso_policy import SsoPolicyService
from hub.identity.services.throttle import Throttle
from hub.identity.services.tokens import AccessToken, AccessTokens
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import Forbidden, Unauthorized
from hub.kernel.problems import refusal
from hub.kernel.schema import new_id
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.web import ClientInfo

MFA_PREFIX = "hub_mfa_"
_CHALLENGE_KEY = "hub:mfa:challenge:"


invalid_credentials = refusal(
    Unauthorized, "The e-mail address or password is wrong.", code="invalid_credentials"
)


invalid_refresh_token = refusal(
    Unauthorized,
    "The refresh token is invalid, expired or was revoked; sign in again.",
    code="invalid_refresh_token",
)


mfa_required = refusal(
    Unauthorized,
    "Two-step verification is on: send a code with the password.",
    code="mfa_required",
)
invalid_mfa_challenge = refusal(
    Unauthorized,
    "The sign-in attempt expired or is unknown; sign in again.",
    code="invalid_mfa_challenge",
)


@dataclass(frozen=True)
class _Rotated:
    """The session a one-statement rotation touched (``last_seen_at`` is now)."""

    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    auth_time: datetime
    amr: str


@dataclass(frozen=True)
class MfaChallenge:
    token: str
    expires_in: int
    methods: tuple[str, ...] = ("totp", "recovery_code")


class _Challenge(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    methods: list[str]


def _challenge_key(token: str) -> str:
    return _CHALLENGE_KEY + hashlib.sha256(token.encode()).hexdigest()


@dataclass(eq=False)
class AuthService:
    store: Store
    settings: IdentitySettings
    redis: Redis
    hasher: PasswordHasher
    throttle: Throttle
    tokens: AccessTokens
    sessions: SessionService
    mfa: MfaService
    #: Refuses password sign-ins of members whose organisation requires single sign-on.
    sso_policy: SsoPolicyService | None = None

    async def _failed(
        self, *, user_id: uuid.UUID | None, email: str, reason: str, client: ClientInfo
    ) -> None:
        async with self.store.uow() as uow:
            login_failed(uow, user_id, email, reason, client.ip)
            await uow.commit()

    async def check_password(self, email_raw: str, password: str, client: ClientInfo) -> UserRecord:
        """The account whose password this is, or ``invalid_credentials`` (throttled)."""
        email = normalise_email(email_raw)
        throttle = self.throttle
        attempt = await throttle.acquire(throttle.account(email), throttle.ip(client.ip))
        if not attempt.allowed:
            await publish_lock(self.store, attempt, user_id=None, email=email, ip=client.ip)
            raise invalid_credentials()
        user = await user_by_email(self.store, email)
        if user is None:
            await self.hasher.verify_dummy(password)
            await self._failed(user_id=None, email=email, reason="unknown_account", client=client)
            raise invalid_credentials()
        if not await self.hasher.verify(user.password_hash, password):
            await self._failed(
                user_id=user.id, email=email, reason="invalid_password", client=client
            )
            raise invalid_credentials()
        await throttle.succeeded(attempt)
        if self.hasher.needs_rehash(user.password_hash):
            new_hash = await self.hasher.hash(password)
            async with self.store.uow() as uow:
                await uow.session.execute(
                    update(User)
                    .where(User.id == user.id, User.password_hash == user.password_hash)
                    .values(password_hash=new_hash)
                )
                await uow.commit()
        return user

    @staticmethod
    def ensure_may_sign_in(user: UserRecord) -> None:
        """Only reached with the right password, so these answers reveal nothing new."""
        if user.disabled_at is not None:
            raise Forbidden("This account is disabled.", code="account_disabled")
        if user.email_verified_at is None:
            raise Forbidden(
                "Confirm your e-mail address first: open the link we sent you.",
                code="email_not_verified",
            )

    async def with_second_factor(
        self, user: UserRecord, client: ClientInfo, code: str | None, recovery_code: str | None
    ) -> list[str]:
        """The methods of a sign-in whose password was right and whose second factor (if
        the account has one) came with it in the same request: 401 ``mfa_required``
        without it."""
        if not user.mfa_enabled:
            return ["pwd"]
        if not code and not recovery_code:
            raise mfa_required()
        return ["pwd", await self.mfa.check(user, client, code=code, recovery_code=recovery_code)]

    async def ensure_password_allowed(self, user: UserRecord) -> None:
        """403 ``sso_required`` for a member of an organisation that requires single
        sign-on (after the password proved right, so it reveals nothing new)."""
        if self.sso_policy is not None:
            await self.sso_policy.ensure_password_allowed(user.id)

    async def open_session(
        self,
        user: UserRecord,
        methods: list[str],
        client: ClientInfo,
        *,
        also: Callable[[UnitOfWork, uuid.UUID], None] | None = None,
    ) -> IssuedTokens:
        """Sign ``user`` in; ``also`` writes what belongs with the new session in the same
        transaction (a single sign-on's provider session)."""
        async with self.store.uow() as uow:
            session, refresh = await self.sessions.open(uow, user, methods, client)
            if also is not None:
                also(uow, session.id)
            await uow.commit()
        expires = session.created_at + timedelta(seconds=self.settings.refresh_token_ttl_seconds)
        return await self.sessions.tokens(
            user.id, user.is_platform_admin, session, refresh, expires
        )

    async def login(
        self, email: str, password: str, client: ClientInfo
    ) -> IssuedTokens | MfaChallenge:
        user = await self.check_password(email, password, client)
        self.ensure_may_sign_in(user)
        await self.ensure_password_allowed(user)
        if not user.mfa_enabled:
            return await self.open_session(user, ["pwd"], client)
        token = new_token(MFA_PREFIX)
        ttl = self.settings.mfa_challenge_ttl_seconds
        await self.redis.set(
            _challenge_key(token),
            msgspec.json.encode(_Challenge(user_id=user.id, methods=["pwd"])),
            ex=ttl,
        )
        has_passkey = await self.store.scalar(select(exists().where(Passkey.user_id == user.id)))
        methods = (*MfaChallenge.methods, "passkey") if has_passkey else MfaChallenge.methods
        return MfaChallenge(token=token, expires_in=ttl, methods=methods)

    async def pending_mfa_user(self, challenge_token: str) -> uuid.UUID | None:
        """Whose password an MFA challenge follows (None: unknown or expired); the
        challenge stays open for the answer."""
        raw = await self.redis.get(_challenge_key(challenge_token))
        return None if raw is None else msgspec.json.decode(raw, type=_Challenge).user_id

    async def finish_mfa(
        self, challenge_token: str, user: UserRecord, method: str, client: ClientInfo
    ) -> IssuedTokens:
        """Close an MFA challenge answered with ``method`` (proved by the caller) and open
        the session; a challenge already closed by a concurrent answer is refused."""
        raw = await self.redis.getdel(_challenge_key(challenge_token))
        if raw is None:
            raise invalid_mfa_challenge()
        challenge = msgspec.json.decode(raw, type=_Challenge)
        if challenge.user_id != user.id:
            raise invalid_mfa_challenge()
        self.ensure_may_sign_in(user)
        return await self.open_session(user, [*challenge.methods, method], client)

    async def complete_mfa(
        self,
        challenge_token: str,
        client: ClientInfo,
        *,
        code: str | None,
        recovery_code: str | None,
    ) -> IssuedTokens:
        key = _challenge_key(challenge_token)
        raw = await self.redis.get(key)
        if raw is None:
            throttle = self.throttle
            attempt = await throttle.acquire(throttle.ip(client.ip))
            await publish_lock(self.store, attempt, user_id=None, email=None, ip=client.ip)
            raise invalid_mfa_challenge()
        challenge = msgspec.json.decode(raw, type=_Challenge)
        user = await user_by_id(self.store, challenge.user_id)
        if user is None:
            raise invalid_code()
        method = await self.mfa.check(user, client, code=code, recovery_code=recovery_code)
        if not await self.redis.delete(key):
            raise invalid_code()  # a concurrent request completed this challenge first
        self.ensure_may_sign_in(user)
        return await self.open_session(user, [*challenge.methods, method], client)

    async def refresh(self, raw: str, client: ClientInfo) -> IssuedTokens:
        """Rotate ``raw``. A session past its maximum age or idle timeout ends here (its
        ``session_revoked`` says which) instead of being extended."""
        now = self.sessions.clock()
        fast = await self._rotate(raw, now, client)
        if fast is not None:
            return fast
        grace = timedelta(seconds=self.settings.refresh_grace_seconds)
        ended: list[uuid.UUID] = []
        issued: IssuedTokens | None = None
        async with self.store.uow() as uow:
            row = (
                await uow.session.execute(
                    select(RefreshToken, Session, User)
                    .join(Session, RefreshToken.session_id == Session.id)
                    .join(User, Session.user_id == User.id)
                    .where(RefreshToken.token_hash == token_hash(raw))
                    .with_for_update(of=RefreshToken)
                )
            ).first()
            if row is None:
                raise invalid_refresh_token()
            current, session, user = row
            if session.revoked_at is not None or user.disabled_at is not None:
                raise invalid_refresh_token()
            lifetime_over = self.sessions.ended(session, now)
            if lifetime_over is not None:
                ended = await self.sessions.revoke_where(
                    uow, user_id=user.id, session_id=session.id, reason=lifetime_over
                )
                await uow.commit()
            elif current.expires_at <= now:
                raise invalid_refresh_token()
            elif current.rotated_at is None:
                successor_raw, successor = self.sessions.new_refresh_token(
                    session.id, now, session.created_at
                )
                uow.session.add(successor)
                current.rotated_at = now
                current.successor_sealed = sealer_for_token(raw).seal(successor_raw.encode())
                session.last_seen_at = now
                session.ip = client.ip
                await uow.commit()
                issued = await self.sessions.tokens(
                    user.id, user.is_platform_admin, session, successor_raw, successor.expires_at
                )
            elif now - current.rotated_at <= grace and current.successor_sealed is not None:
                # A concurrent tab presented the same token: hand it the same successor,
                # so several tabs never fork the family (or trip reuse detection).
                successor_raw = sealer_for_token(raw).open(current.successor_sealed).decode()
                known = await uow.session.scalar(
                    select(RefreshToken.expires_at).where(
                        RefreshToken.token_hash == token_hash(successor_raw)
                    )
                )
                if known is None:
                    raise invalid_refresh_token()
                issued = await self.sessions.tokens(
                    user.id, user.is_platform_admin, session, successor_raw, known
                )
            else:
                ended = await self.sessions.revoke_where(
                    uow, user_id=user.id, session_id=session.id, reason="refresh_token_reuse"
                )
                await uow.commit()
        if issued is None:
            await self.sessions.stop_access_tokens(ended)
            raise invalid_refresh_token()
        return issued

    async def _rotate(self, raw: str, now: datetime, client: ClientInfo) -> IssuedTokens | None:
        """The common case in one statement (``repositories.refresh_rotation``); None when
        the token is not plainly usable, for the path below to decide."""
        sessions = self.sessions
        successor_raw = new_token(REFRESH_PREFIX)
        refresh_until = now + timedelta(seconds=self.settings.refresh_token_ttl_seconds)
        row = await refresh_rotation.rotate(
            self.store,
            token_hash=token_hash(raw),
            now=now,
            sealed=sealer_for_token(raw).seal(successor_raw.encode()),
            successor_id=new_id(),
            successor_hash=token_hash(successor_raw),
            refresh_until=refresh_until,
            max_age=sessions.max_age,
            idle_timeout=sessions.idle_timeout,
            ip=client.ip,
        )
        if row is None:
            return None
        session = _Rotated(row.id, row.created_at, now, row.auth_time, row.amr)
        expires = min(refresh_until, row.created_at + sessions.max_age)
        return await sessions.tokens(
            row.user_id, row.is_platform_admin, session, successor_raw, expires
        )

    async def logout(self, principal: Principal) -> None:
        if principal.session_id is None:
            return
        async with self.store.uow() as uow:
            ids = await self.sessions.revoke_where(
                uow, user_id=principal.user_id, session_id=principal.session_id, reason="logout"
            )
            await uow.commit()
        # Even an already-revoked session gets its access tokens stopped again: cheap, safe.
        await self.sessions.stop_access_tokens(ids or [principal.session_id])

    async def reauthenticate(
        self,
        principal: Principal,
        password: str,
        client: ClientInfo,
        *,
        code: str | None,
        recovery_code: str | None,
    ) -> AccessToken:
        """Step-up: prove the secrets again to make this session's authentication recent."""
        user = await user_by_id(self.store, principal.user_id)
        if user is None or principal.session_id is None:
            raise invalid_credentials()
        user = await self.check_password(user.email, password, client)
        self.ensure_may_sign_in(user)
        await self.ensure_password_allowed(user)
        methods = await self.with_second_factor(user, client, code, recovery_code)
        return await self.step_up(principal, user, methods)

    async def step_up(
        self, principal: Principal, user: UserRecord, methods: list[str]
    ) -> AccessToken:
        """Make the session's authentication recent: ``user`` just proved ``methods``."""
        if principal.session_id is None:
            raise invalid_credentials()
        now = self.sessions.clock()
        async with self.store.uow() as uow:
            updated = await uow.session.execute(
                update(Session)
                .where(
                    Session.id == principal.session_id,
                    Session.user_id == user.id,
                    Session.revoked_at.is_(None),
                    # A session past its lifetimes is not stepped up (nor extended).
                    Session.created_at > now - self.sessions.max_age,
                    Session.last_seen_at > now - self.sessions.idle_timeout,
                )
                .values(auth_time=now, amr=",".join(methods), last_seen_at=now)
                .returning(Session.created_at)
            )
            created_at = updated.scalar()
            if created_at is None:
                raise Unauthorized("The session has ended; sign in again.", code="invalid_token")
            await uow.commit()
        return await self.tokens.issue(
            user_id=user.id,
            session_id=principal.session_id,
            auth_time=now,
            amr=methods,
            not_after=int((created_at + self.sessions.max_age - now).total_seconds()),
            is_platform_admin=user.is_platform_admin,
        )
