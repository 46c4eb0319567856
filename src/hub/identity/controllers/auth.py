"""/auth: registration, sign-in, tokens, passwords and the caller's profile."""

from __future__ import annotations

import structlog
from litestar import Controller, Response, delete, get, patch, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import JSONBody

from hub.identity.deps import people_only
from hub.identity.schemas import (
    Accepted,
    AccessTokenOut,
    ChangePasswordIn,
    Done,
    ForgotIn,
    LoginIn,
    MeOut,
    MePatch,
    MfaRequiredOut,
    MfaVerifyIn,
    PasswordChangedOut,
    ReauthenticateIn,
    RefreshIn,
    RegisterIn,
    ResendVerificationIn,
    ResetIn,
    TokenIn,
    TokensOut,
)
from hub.identity.services.access import require_user_session
from hub.identity.services.auth import AuthService, MfaChallenge
from hub.identity.services.password_reset import PasswordService
from hub.identity.services.profile import ProfileService
from hub.identity.services.registration import RegistrationService
from hub.identity.services.resend_verification import ResendVerification
from hub.kernel.openapi import problems
from hub.kernel.ratelimit import rate_limit
from hub.kernel.security import Principal
from hub.kernel.web import BEARER, ClientInfo, to_schema

log = structlog.get_logger("hub.identity")

#: Every route here that checks a password (an argon2 hash, ~40 ms of a core), a secret
#: from a mail or a second factor, or sends mail draws from the tight ``auth`` bucket
#: (``HUB_RATE_LIMIT_AUTH``), so one client cannot turn them into CPU or mail exhaustion.
#: The brute-force counters (``services.throttle``) and the per-mailbox mail budget
#: (``services.mail_limits``) apply on top. Refresh, logout and ``GET /me`` stay on the
#: general buckets.
AUTH_LIMIT = rate_limit("auth")

REGISTERED = Accepted(
    status="accepted",
    detail="If this address can be registered, a confirmation link is on its way to it.",
)
RESET_REQUESTED = Accepted(
    status="accepted",
    detail="If an account uses this address, a reset link is on its way to it.",
)

VERIFICATION_RESENT = Accepted(
    status="accepted",
    detail="If this address has an account waiting for confirmation, a new link is on its "
    "way to it.",
)


async def _forgot_in_background(passwords: PasswordService, email: str) -> None:
    try:
        await passwords.forgot_password(email)
    except Exception:
        log.exception("password_reset_request_failed")


async def _resend_in_background(resend: ResendVerification, email: str) -> None:
    try:
        await resend.resend(email)
    except Exception:
        log.exception("verification_resend_failed")


class AuthController(Controller):
    path = "/auth"
    tags = ["Identity: authentication"]

    @post(
        "/register",
        status_code=202,
        operation_id="register",
        opt={**AUTH_LIMIT, **problems(422)},
        summary="Create an account; a confirmation link is e-mailed",
        description="Answers the same whether or not the address already has an account "
        "(its owner is e-mailed instead), and whether or not the address has used up its "
        "mail budget (HUB_RATE_LIMIT_MAIL_PER_ADDRESS; then nothing happens at all).",
    )
    async def register(
        self, data: JSONBody[RegisterIn], registration: NamedDependency[RegistrationService]
    ) -> Accepted:
        await registration.register(data.email, data.password, data.display_name)
        return REGISTERED

    @post(
        "/verify-email",
        status_code=200,
        operation_id="verifyEmail",
        opt={**AUTH_LIMIT, **problems(409, 422)},
        summary="Confirm an address with the e-mailed token",
    )
    async def verify_email(
        self,
        data: JSONBody[TokenIn],
        registration: NamedDependency[RegistrationService],
        client_info: NamedDependency[ClientInfo],
    ) -> Done:
        await registration.verify_email(data.token, client_info)
        return Done(status="verified")

    @post(
        "/resend-verification",
        status_code=202,
        operation_id="resendVerification",
        opt=AUTH_LIMIT,
        summary="E-mail a new verification link; the same answer whatever the address",
        description="Only an account that exists, is enabled and is not verified yet gets "
        "mail; its older links stop working. At most 3 mails per address per hour. The "
        "lookup and the mail happen after the answer is sent.",
    )
    async def resend_verification(
        self,
        data: JSONBody[ResendVerificationIn],
        resend_verification: NamedDependency[ResendVerification],
    ) -> Response[Accepted]:
        return Response(
            VERIFICATION_RESENT,
            status_code=202,
            background=BackgroundTask(_resend_in_background, resend_verification, data.email),
        )

    @post(
        "/login",
        status_code=200,
        operation_id="login",
        opt={**AUTH_LIMIT, **problems(401, 403)},
        summary="Password sign-in: tokens, or an MFA challenge when a second factor is on",
    )
    async def login(
        self,
        data: JSONBody[LoginIn],
        auth: NamedDependency[AuthService],
        client_info: NamedDependency[ClientInfo],
    ) -> TokensOut | MfaRequiredOut:
        result = await auth.login(data.email, data.password, client_info)
        if isinstance(result, MfaChallenge):
            return MfaRequiredOut(
                mfa_token=result.token, expires_in=result.expires_in, methods=list(result.methods)
            )
        return to_schema(result, TokensOut)

    @post(
        "/mfa/verify",
        status_code=200,
        operation_id="verifyMfa",
        opt={**AUTH_LIMIT, **problems(401, 403, 503)},
        summary="Answer the MFA challenge with a TOTP code or a recovery code",
    )
    async def verify_mfa(
        self,
        data: JSONBody[MfaVerifyIn],
        auth: NamedDependency[AuthService],
        client_info: NamedDependency[ClientInfo],
    ) -> TokensOut:
        issued = await auth.complete_mfa(
            data.mfa_token, client_info, code=data.code, recovery_code=data.recovery_code
        )
        return to_schema(issued, TokensOut)

    @post(
        "/refresh",
        status_code=200,
        operation_id="refreshTokens",
        opt=problems(401),
        summary="Rotate the refresh token; a reused one revokes its whole session",
    )
    async def refresh(
        self,
        data: JSONBody[RefreshIn],
        auth: NamedDependency[AuthService],
        client_info: NamedDependency[ClientInfo],
    ) -> TokensOut:
        return to_schema(await auth.refresh(data.refresh_token, client_info), TokensOut)

    @post(
        "/logout",
        status_code=204,
        operation_id="logout",
        summary="End the current session (its access and refresh tokens stop working)",
        security=BEARER,
        guards=[people_only],
    )
    async def logout(
        self, principal: NamedDependency[Principal], auth: NamedDependency[AuthService]
    ) -> None:
        await auth.logout(principal)

    @post(
        "/reauthenticate",
        status_code=200,
        operation_id="reauthenticate",
        opt={**AUTH_LIMIT, **problems(503)},
        summary="Prove the password (and second factor) again before a sensitive action",
        security=BEARER,
        guards=[people_only],
    )
    async def reauthenticate(
        self,
        data: JSONBody[ReauthenticateIn],
        principal: NamedDependency[Principal],
        auth: NamedDependency[AuthService],
        client_info: NamedDependency[ClientInfo],
    ) -> AccessTokenOut:
        token = await auth.reauthenticate(
            principal,
            data.password,
            client_info,
            code=data.code,
            recovery_code=data.recovery_code,
        )
        return AccessTokenOut(access_token=token.token, expires_in=token.expires_in)

    @post(
        "/password/forgot",
        status_code=202,
        operation_id="forgotPassword",
        opt=AUTH_LIMIT,
        summary="E-mail a reset link; the same answer whether or not the account exists",
    )
    async def forgot_password(
        self, data: JSONBody[ForgotIn], passwords: NamedDependency[PasswordService]
    ) -> Response[Accepted]:
        # The lookup and the e-mail happen after the answer is sent, so neither the body
        # nor the timing tells whether the address has an account.
        return Response(
            RESET_REQUESTED,
            status_code=202,
            background=BackgroundTask(_forgot_in_background, passwords, data.email),
        )

    @post(
        "/password/reset",
        status_code=200,
        operation_id="resetPassword",
        opt={**AUTH_LIMIT, **problems(422)},
        summary="Set a new password with the e-mailed token (signs every device out)",
    )
    async def reset_password(
        self,
        data: JSONBody[ResetIn],
        passwords: NamedDependency[PasswordService],
        client_info: NamedDependency[ClientInfo],
    ) -> Done:
        await passwords.reset_password(data.token, data.new_password, client_info)
        return Done(status="password_reset")

    @post(
        "/undo-email-change",
        status_code=200,
        operation_id="undoEmailChange",
        opt={**AUTH_LIMIT, **problems(409, 422)},
        summary="Take the account back to the address an undo link was mailed to, with a new "
        "password (signs every device out, revokes every API key)",
        description="The link goes to the old address when an e-mail change is requested and "
        "when it completes; it works once, for HUB_EMAIL_CHANGE_UNDO_TTL_SECONDS, even after "
        "a password change.",
    )
    async def undo_email_change(
        self,
        data: JSONBody[ResetIn],
        profile: NamedDependency[ProfileService],
        client_info: NamedDependency[ClientInfo],
    ) -> Done:
        await profile.undo_email_change(data.token, data.new_password, client_info)
        return Done(status="email_change_undone")

    @post(
        "/password/change",
        status_code=200,
        operation_id="changePassword",
        opt={**AUTH_LIMIT, **problems(422)},
        summary="Change the password (needs the current one); may end the other sessions",
        security=BEARER,
        guards=[people_only],
    )
    async def change_password(
        self,
        data: JSONBody[ChangePasswordIn],
        principal: NamedDependency[Principal],
        passwords: NamedDependency[PasswordService],
        client_info: NamedDependency[ClientInfo],
    ) -> PasswordChangedOut:
        ended = await passwords.change_password(
            principal,
            data.current_password,
            data.new_password,
            client_info,
            end_other_sessions=data.end_other_sessions,
        )
        return PasswordChangedOut(sessions_ended=ended)

    @get(
        "/me",
        operation_id="getMe",
        summary="The caller's profile",
        security=BEARER,
        opt=problems(403),  # an API key: session_required
    )
    async def me(
        self, token_principal: NamedDependency[Principal], profile: NamedDependency[ProfileService]
    ) -> MeOut:
        # token_principal skips the Redis revocation lookup: profile() reads the session
        # row in the same query and refuses a revoked one. A profile is a person's: an API
        # key gets the people-only answer (decided from the principal, like the guard).
        require_user_session(token_principal)
        return to_schema(await profile.profile(token_principal), MeOut)

    @patch(
        "/me",
        operation_id="updateMe",
        opt={**AUTH_LIMIT, **problems(422)},
        summary="Change the display name, or start an e-mail change (needs a recent sign-in)",
        security=BEARER,
        guards=[people_only],
    )
    async def update_me(
        self,
        data: JSONBody[MePatch],
        principal: NamedDependency[Principal],
        profile: NamedDependency[ProfileService],
    ) -> MeOut:
        updated = await profile.update_profile(principal, **data.sent())
        return to_schema(updated, MeOut)

    @delete(
        "/me/email-change",
        status_code=204,
        operation_id="cancelEmailChange",
        summary="Withdraw a pending e-mail change (its confirmation link stops working)",
        description="204 whether or not a change was pending. The undo link mailed to the "
        "old address is not affected.",
        security=BEARER,
        guards=[people_only],
    )
    async def cancel_email_change(
        self, principal: NamedDependency[Principal], profile: NamedDependency[ProfileService]
    ) -> None:
        await profile.cancel_email_change(principal)
