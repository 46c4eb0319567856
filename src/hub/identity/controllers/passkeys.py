"""/auth/passkeys: the caller's passkeys, and the passkey ceremonies (sign-in alone, the
second factor of a password sign-in, step-up)."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hub.identity.controllers.auth import AUTH_LIMIT
from hub.identity.deps import PeopleController
from hub.identity.schemas import AccessTokenOut, TokensOut
from hub.identity.schemas.passkeys import (
    MfaPasskeyIn,
    MfaPasskeyOptionsIn,
    PasskeyAssertionIn,
    PasskeyOptionsOut,
    PasskeyOut,
    PasskeyPatch,
    PasskeyRegisterIn,
)
from hub.identity.services.passkey_sign_in import PasskeySignIn
from hub.identity.services.passkeys import Options, PasskeyService
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.security import Principal
from hub.kernel.web import ClientInfo, Cursor, Limit, page_as, to_schema


def _options(options: Options) -> PasskeyOptionsOut:
    return PasskeyOptionsOut(challenge_id=options.challenge_id, public_key=options.public_key)


class PasskeyController(PeopleController):
    path = "/auth/passkeys"
    tags = ["Identity: passkeys"]

    @get(operation_id="listPasskeys", summary="The caller's passkeys, oldest first")
    async def list_passkeys(
        self,
        principal: NamedDependency[Principal],
        passkeys: NamedDependency[PasskeyService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[PasskeyOut]:
        return page_as(await passkeys.list(principal, limit=limit, cursor=cursor), PasskeyOut)

    @post(
        "/registration-options",
        status_code=200,
        operation_id="passkeyRegistrationOptions",
        opt=problems(409),
        summary="Start registering a passkey (needs a recent sign-in)",
        description="Returns the options for navigator.credentials.create() (a discoverable "
        "credential, user verification required) and the id of a single-use challenge that "
        "lives HUB_WEBAUTHN_CHALLENGE_TTL_SECONDS.",
    )
    async def registration_options(
        self, principal: NamedDependency[Principal], passkeys: NamedDependency[PasskeyService]
    ) -> PasskeyOptionsOut:
        return _options(await passkeys.registration_options(principal))

    @post(
        status_code=201,
        operation_id="registerPasskey",
        opt={**AUTH_LIMIT, **problems(409, 422)},
        summary="Finish registering a passkey with the authenticator's answer",
    )
    async def register(
        self,
        data: JSONBody[PasskeyRegisterIn],
        principal: NamedDependency[Principal],
        passkeys: NamedDependency[PasskeyService],
    ) -> PasskeyOut:
        row = await passkeys.register(principal, data.challenge_id, data.name, data.credential)
        return to_schema(row, PasskeyOut)

    @patch(
        "/{passkey_id:uuid}",
        operation_id="renamePasskey",
        opt=problems(404, 422),
        summary="Rename a passkey",
    )
    async def rename(
        self,
        passkey_id: FromPath[uuid.UUID],
        data: JSONBody[PasskeyPatch],
        principal: NamedDependency[Principal],
        passkeys: NamedDependency[PasskeyService],
    ) -> PasskeyOut:
        return to_schema(await passkeys.rename(principal, passkey_id, data.name), PasskeyOut)

    @delete(
        "/{passkey_id:uuid}",
        status_code=204,
        operation_id="removePasskey",
        opt=problems(404, 409),
        summary="Remove a passkey (needs a recent sign-in)",
        description="403 `reauthentication_required` without a recent sign-in; 409 "
        "`last_sign_in_method` when it is the account's last way in (made by single "
        "sign-on: no password, no other passkey and no provider link).",
    )
    async def remove(
        self,
        passkey_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        passkeys: NamedDependency[PasskeyService],
    ) -> None:
        await passkeys.remove(principal, passkey_id)

    @post(
        "/reauthentication-options",
        status_code=200,
        operation_id="passkeyReauthenticationOptions",
        opt=problems(404),
        summary="Start a step-up with one of the caller's passkeys",
    )
    async def reauthentication_options(
        self,
        principal: NamedDependency[Principal],
        passkey_sign_in: NamedDependency[PasskeySignIn],
    ) -> PasskeyOptionsOut:
        return _options(await passkey_sign_in.reauthentication_options(principal))

    @post(
        "/reauthenticate",
        status_code=200,
        operation_id="reauthenticateWithPasskey",
        opt=AUTH_LIMIT,
        summary="Step-up with a passkey: a new access token whose authentication is recent",
        description="A passkey verifies its user (PIN or biometrics), so it stands for the "
        "password and the second factor of POST /auth/reauthenticate.",
    )
    async def reauthenticate(
        self,
        data: JSONBody[PasskeyAssertionIn],
        principal: NamedDependency[Principal],
        passkey_sign_in: NamedDependency[PasskeySignIn],
        client_info: NamedDependency[ClientInfo],
    ) -> AccessTokenOut:
        token = await passkey_sign_in.reauthenticate(
            principal, data.challenge_id, data.credential, client_info
        )
        return AccessTokenOut(access_token=token.token, expires_in=token.expires_in)


class PasskeySignInController(Controller):
    """The ceremonies that sign someone in: no access token yet."""

    path = "/auth"
    tags = ["Identity: passkeys"]

    @post(
        "/passkeys/sign-in-options",
        status_code=200,
        operation_id="passkeySignInOptions",
        summary="Start signing in with a passkey alone (the browser offers the site's passkeys)",
    )
    async def sign_in_options(
        self, passkey_sign_in: NamedDependency[PasskeySignIn]
    ) -> PasskeyOptionsOut:
        return _options(await passkey_sign_in.sign_in_options())

    @post(
        "/passkeys/sign-in",
        status_code=200,
        operation_id="signInWithPasskey",
        opt={**AUTH_LIMIT, **problems(401, 403)},
        summary="Sign in with a passkey: tokens, as a password sign-in returns them",
    )
    async def sign_in(
        self,
        data: JSONBody[PasskeyAssertionIn],
        passkey_sign_in: NamedDependency[PasskeySignIn],
        client_info: NamedDependency[ClientInfo],
    ) -> TokensOut:
        issued = await passkey_sign_in.sign_in(data.challenge_id, data.credential, client_info)
        return to_schema(issued, TokensOut)

    @post(
        "/mfa/passkey-options",
        status_code=200,
        operation_id="mfaPasskeyOptions",
        opt=problems(401, 404),
        summary="Answer an MFA challenge with a passkey: the options for the browser",
    )
    async def second_factor_options(
        self, data: JSONBody[MfaPasskeyOptionsIn], passkey_sign_in: NamedDependency[PasskeySignIn]
    ) -> PasskeyOptionsOut:
        return _options(await passkey_sign_in.second_factor_options(data.mfa_token))

    @post(
        "/mfa/passkey",
        status_code=200,
        operation_id="verifyMfaWithPasskey",
        opt={**AUTH_LIMIT, **problems(401, 403)},
        summary="Answer an MFA challenge with a passkey: tokens",
    )
    async def second_factor(
        self,
        data: JSONBody[MfaPasskeyIn],
        passkey_sign_in: NamedDependency[PasskeySignIn],
        client_info: NamedDependency[ClientInfo],
    ) -> TokensOut:
        issued = await passkey_sign_in.second_factor(
            data.mfa_token, data.challenge_id, data.credential, client_info
        )
        return to_schema(issued, TokensOut)
