"""/auth/mfa: TOTP enrolment and recovery codes."""

from __future__ import annotations

from litestar import delete, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from hub.identity.deps import PeopleController
from hub.identity.schemas import CodeIn, RecoveryCodesOut, TotpSetupOut
from hub.identity.services.mfa import MfaService
from hub.kernel.openapi import problems
from hub.kernel.ratelimit import rate_limit
from hub.kernel.security import Principal
from hub.kernel.web import ClientInfo


class MfaController(PeopleController):
    path = "/auth/mfa"
    tags = ["Identity: two-step verification"]

    @post(
        "/totp/setup",
        status_code=200,
        operation_id="setupTotp",
        opt=problems(409),
        summary="Start TOTP enrolment: a secret and its otpauth:// URI (QR code)",
    )
    async def setup(
        self, principal: NamedDependency[Principal], mfa: NamedDependency[MfaService]
    ) -> TotpSetupOut:
        secret, uri = await mfa.setup(principal)
        return TotpSetupOut(secret=secret, otpauth_uri=uri)

    @post(
        "/totp/confirm",
        status_code=200,
        operation_id="confirmTotp",
        opt={**rate_limit("auth"), **problems(404, 409)},  # mails the account
        summary="Finish enrolment with a code; returns the recovery codes (shown once)",
    )
    async def confirm(
        self,
        data: JSONBody[CodeIn],
        principal: NamedDependency[Principal],
        mfa: NamedDependency[MfaService],
        client_info: NamedDependency[ClientInfo],
    ) -> RecoveryCodesOut:
        codes = await mfa.confirm(principal, data.code, client_info)
        return RecoveryCodesOut(recovery_codes=codes)

    @delete(
        "/totp",
        status_code=204,
        operation_id="disableTotp",
        opt={**rate_limit("auth"), **problems(404)},  # mails the account
        summary="Turn two-step verification off (needs a recent sign-in)",
    )
    async def disable(
        self, principal: NamedDependency[Principal], mfa: NamedDependency[MfaService]
    ) -> None:
        await mfa.disable(principal)

    @post(
        "/recovery-codes",
        status_code=200,
        operation_id="regenerateRecoveryCodes",
        opt=problems(404),
        summary="Replace the recovery codes (needs a recent sign-in)",
    )
    async def regenerate(
        self, principal: NamedDependency[Principal], mfa: NamedDependency[MfaService]
    ) -> RecoveryCodesOut:
        return RecoveryCodesOut(recovery_codes=await mfa.regenerate_codes(principal))
