"""Second factors: TOTP enrolment and checks, recovery codes, an operator's reset.

Enrolling needs a recent sign-in like turning the factor off: otherwise a stolen access
token could add the thief's authenticator and lock the owner out of their own account.

A TOTP code is accepted once: the accepted time step is stored and a conditional UPDATE
only moves it forward, so a replayed code (or a concurrent second use) changes no row and
is refused, across every process. Recovery codes are single use the same way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import delete, insert, or_, select, update

from hub.identity.api import LoginFailed, LoginLocked, MfaDisabled, MfaEnabled, MfaReset
from hub.identity.domain import totp
from hub.identity.domain.secrets import (
    IdentitySecrets,
    UnsealableError,
    new_recovery_codes,
    normalise_recovery_code,
)
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import RecoveryCode, TotpCredential, User
from hub.identity.repositories.users import UserRecord, user_by_id
from hub.identity.services.mail import IdentityMail
from hub.identity.services.throttle import Attempt, Throttle
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import AppError, Conflict, NotFound, Unauthorized
from hub.kernel.problems import refusal
from hub.kernel.security import Principal, require_recent_authentication
from hub.kernel.store import Store
from hub.kernel.web import ClientInfo

TOTP_ISSUER = "Hub"

log = structlog.get_logger("hub.identity")


invalid_code = refusal(Unauthorized, "The code is wrong or was already used.", code="invalid_code")


def mfa_unavailable() -> AppError:
    """The server cannot read the account's TOTP secret (HUB_SECRET_KEY changed and the
    key that sealed it is not configured): not the user's fault, and not a crash."""
    return AppError(
        "Authenticator codes cannot be checked for this account at the moment. "
        "Use a recovery code, or ask an administrator.",
        code="mfa_unavailable",
        status_code=503,
    )


def log_unreadable_totp(user_id: uuid.UUID) -> None:
    log.error(
        "totp_secret_unreadable",
        user_id=str(user_id),
        problem=(
            "sealed under a HUB_SECRET_KEY that is neither the current key nor listed in "
            "HUB_SECRET_KEY_PREVIOUS: add the old key to HUB_SECRET_KEY_PREVIOUS and run "
            "`hub secrets rotate` (README: Rotating HUB_SECRET_KEY)"
        ),
    )


async def publish_lock(
    store: Store,
    attempt: Attempt,
    *,
    user_id: uuid.UUID | None,
    email: str | None,
    ip: str,
) -> None:
    """Record the attempt that locked a counter (refusals by the lock are not recorded)."""
    if attempt.newly_locked is None:
        return
    async with store.uow() as uow:
        uow.publish(
            LoginLocked(
                user_id=user_id,
                email=email,
                scope=attempt.newly_locked.kind,
                ip=ip,
                locked_seconds=attempt.locked_ms // 1000,
            )
        )
        await uow.commit()


def login_failed(
    uow: UnitOfWork, user_id: uuid.UUID | None, email: str | None, reason: str, ip: str
) -> None:
    """Record in ``uow`` that a secret was checked and was wrong."""
    uow.publish(LoginFailed(actor_id=user_id, user_id=user_id, email=email, reason=reason, ip=ip))


@dataclass(eq=False)
class MfaService:
    store: Store
    settings: IdentitySettings
    secrets: IdentitySecrets
    throttle: Throttle
    mail: IdentityMail
    clock: Clock

    def _codes(self, uow: UnitOfWork, user_id: uuid.UUID) -> list[str]:
        codes = new_recovery_codes()
        hashes = self.secrets.recovery_codes
        uow.session.add_all(
            RecoveryCode(
                user_id=user_id,
                code_hash=hashes.digest(normalise_recovery_code(code)),
                secret_key_id=hashes.key_id,
            )
            for code in codes
        )
        return codes

    async def _user(self, principal: Principal) -> UserRecord:
        user = await user_by_id(self.store, principal.user_id)
        if user is None or user.disabled_at is not None:
            raise Unauthorized("The account is not available.", code="invalid_token")
        return user

    async def setup(self, principal: Principal) -> tuple[str, str]:
        """Start (or restart) enrolment: a new secret, unconfirmed until a code proves it."""
        require_recent_authentication(principal, self.settings.recent_auth_seconds)
        user = await self._user(principal)
        if user.mfa_enabled:
            raise Conflict(
                "Two-step verification is already on; turn it off first to re-enrol.",
                code="mfa_already_enabled",
            )
        secret = totp.new_secret()
        sealed = self.secrets.totp.seal(secret.encode(), context=str(user.id).encode())
        async with self.store.uow() as uow:
            await uow.session.execute(
                delete(TotpCredential).where(TotpCredential.user_id == user.id)
            )
            await uow.session.execute(
                insert(TotpCredential).values(user_id=user.id, secret_sealed=sealed)
            )
            await uow.commit()
        uri = totp.provisioning_uri(secret, account=user.email, issuer=TOTP_ISSUER)
        return secret, uri

    def _secret(self, credential: TotpCredential) -> str | None:
        """The TOTP secret, or None (logged) when no configured key opens it."""
        try:
            return self.secrets.totp.open(
                credential.secret_sealed, context=str(credential.user_id).encode()
            ).decode()
        except UnsealableError:
            log_unreadable_totp(credential.user_id)
            return None

    async def confirm(self, principal: Principal, code: str, client: ClientInfo) -> list[str]:
        require_recent_authentication(principal, self.settings.recent_auth_seconds)
        user = await self._user(principal)
        if user.mfa_enabled:
            raise Conflict("Two-step verification is already on.", code="mfa_already_enabled")
        attempt = await self.throttle.acquire(
            self.throttle.mfa(user.id), self.throttle.ip(client.ip)
        )
        if not attempt.allowed:
            await publish_lock(self.store, attempt, user_id=user.id, email=user.email, ip=client.ip)
            raise invalid_code()
        async with self.store.uow() as uow:
            credential = await uow.session.scalar(
                select(TotpCredential)
                .where(TotpCredential.user_id == user.id, TotpCredential.confirmed_at.is_(None))
                .with_for_update()
            )
            if credential is None:
                raise NotFound(
                    "No enrolment in progress: start with POST /auth/mfa/totp/setup.",
                    code="mfa_not_started",
                )
            secret = self._secret(credential)
            if secret is None:
                raise Conflict(
                    "The enrolment in progress can no longer be read; start again with "
                    "POST /auth/mfa/totp/setup.",
                    code="mfa_setup_unreadable",
                )
            step = totp.matching_step(secret, code, now=self.clock().timestamp())
            if step is None:
                login_failed(uow, user.id, user.email, "invalid_otp", client.ip)
                await uow.commit()
                raise invalid_code()
            now = self.clock()
            credential.confirmed_at = now
            credential.last_used_step = step
            await uow.session.execute(
                update(User).where(User.id == user.id).values(mfa_enabled=True)
            )
            await uow.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
            codes = self._codes(uow, user.id)
            uow.publish(MfaEnabled(actor_id=user.id, user_id=user.id, method="totp"))
            self.mail.notice(uow, "mfa_changed", user, enabled=True, when=now)
            await uow.commit()
        await self.throttle.succeeded(attempt)
        return codes

    async def disable(self, principal: Principal) -> None:
        require_recent_authentication(principal, self.settings.recent_auth_seconds)
        user = await self._user(principal)
        async with self.store.uow() as uow:
            result = await uow.session.execute(
                delete(TotpCredential)
                .where(TotpCredential.user_id == user.id)
                .returning(TotpCredential.confirmed_at)
            )
            confirmed = [row for row in result if row.confirmed_at is not None]
            await uow.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
            await uow.session.execute(
                update(User).where(User.id == user.id).values(mfa_enabled=False)
            )
            if confirmed:
                now = self.clock()
                uow.publish(MfaDisabled(actor_id=user.id, user_id=user.id, method="totp"))
                self.mail.notice(uow, "mfa_changed", user, enabled=False, when=now)
            await uow.commit()
        if not confirmed:
            raise NotFound("Two-step verification is not on.", code="mfa_not_enabled")

    async def reset(self, user_id: uuid.UUID, *, actor_id: uuid.UUID | None, via: str) -> bool:
        """An operator turns a user's second factor off (lost phone, or an authenticator a
        thief enrolled): the TOTP secret and every recovery code go, the user is told by
        e-mail and ``identity.mfa_reset`` records who did it. Whether a factor was on
        (a pending enrolment is dropped either way)."""
        async with self.store.uow() as uow:
            user = await uow.session.get(User, user_id, with_for_update=True)
            if user is None:
                return False
            result = await uow.session.execute(
                delete(TotpCredential)
                .where(TotpCredential.user_id == user_id)
                .returning(TotpCredential.confirmed_at)
            )
            confirmed = any(row.confirmed_at is not None for row in result)
            codes = await uow.session.execute(
                delete(RecoveryCode)
                .where(RecoveryCode.user_id == user_id)
                .returning(RecoveryCode.id)
            )
            deleted_codes = len(codes.all())
            user.mfa_enabled = False
            if confirmed:
                uow.publish(
                    MfaReset(
                        actor_id=actor_id,
                        user_id=user_id,
                        method="totp",
                        recovery_codes_deleted=deleted_codes,
                        via=via,
                    )
                )
                self.mail.notice(uow, "mfa_reset", user, when=self.clock())
            await uow.commit()
        return confirmed

    async def regenerate_codes(self, principal: Principal) -> list[str]:
        require_recent_authentication(principal, self.settings.recent_auth_seconds)
        user = await self._user(principal)
        if not user.mfa_enabled:
            raise NotFound("Two-step verification is not on.", code="mfa_not_enabled")
        async with self.store.uow() as uow:
            await uow.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
            codes = self._codes(uow, user.id)
            await uow.commit()
        return codes

    async def check(
        self,
        user: UserRecord,
        client: ClientInfo,
        *,
        code: str | None,
        recovery_code: str | None,
    ) -> str:
        """Prove the second factor of ``user``; returns the RFC 8176 method used."""
        throttle = self.throttle
        attempt = await throttle.acquire(throttle.mfa(user.id), throttle.ip(client.ip))
        if not attempt.allowed:
            await publish_lock(self.store, attempt, user_id=user.id, email=user.email, ip=client.ip)
            raise invalid_code()
        method: str | None = None
        async with self.store.uow() as uow:
            if code:
                credential = await uow.session.scalar(
                    select(TotpCredential).where(
                        TotpCredential.user_id == user.id,
                        TotpCredential.confirmed_at.is_not(None),
                    )
                )
                secret = self._secret(credential) if credential is not None else None
                if credential is not None and secret is None:
                    raise mfa_unavailable()
                step = (
                    totp.matching_step(secret, code, now=self.clock().timestamp())
                    if secret is not None
                    else None
                )
                if step is not None:
                    moved = await uow.session.execute(
                        update(TotpCredential)
                        .where(
                            TotpCredential.user_id == user.id,
                            or_(
                                TotpCredential.last_used_step.is_(None),
                                TotpCredential.last_used_step < step,
                            ),
                        )
                        .values(last_used_step=step)
                        .returning(TotpCredential.user_id)
                    )
                    method = "otp" if moved.first() is not None else None
            elif recovery_code:
                # Hashed under any configured key (a code issued before a key rotation
                # still works); the used row is rewritten under the current key.
                hashes = self.secrets.recovery_codes
                plain = normalise_recovery_code(recovery_code)
                used = await uow.session.execute(
                    update(RecoveryCode)
                    .where(
                        RecoveryCode.user_id == user.id,
                        RecoveryCode.code_hash.in_(hashes.digests(plain)),
                        RecoveryCode.used_at.is_(None),
                    )
                    .values(
                        used_at=self.clock(),
                        code_hash=hashes.digest(plain),
                        secret_key_id=hashes.key_id,
                    )
                    .returning(RecoveryCode.id)
                )
                method = "rec" if used.first() is not None else None
            if method is None:
                reason = "invalid_recovery_code" if not code else "invalid_otp"
                login_failed(uow, user.id, user.email, reason, client.ip)
            await uow.commit()
        if method is None:
            raise invalid_code()
        await throttle.succeeded(attempt)
        return method
