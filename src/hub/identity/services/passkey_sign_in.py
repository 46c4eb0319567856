"""The three ceremonies a passkey answers: signing in with it alone (a discoverable
credential: the browser offers the site's passkeys, no address typed), answering the MFA
challenge of a password sign-in, and stepping up an existing session.

Each starts with options bound to a fresh server-side challenge and ends with the
authenticator's answer to it (:class:`PasskeyService.verify_assertion`). The session a
passkey opens is like a password sign-in's (same tokens, same rules for disabled and
unverified accounts), with the methods ``hwk`` and ``mfa``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.identity.services.auth import AuthService, invalid_mfa_challenge
from hub.identity.services.passkey_challenges import (
    REAUTHENTICATE,
    SECOND_FACTOR,
    SIGN_IN,
    PasskeyChallenges,
    fingerprint,
)
from hub.identity.services.passkeys import PASSKEY_METHODS, Options, PasskeyService
from hub.identity.services.sessions import IssuedTokens
from hub.identity.services.tokens import AccessToken
from hub.kernel.errors import NotFound
from hub.kernel.security import Principal
from hub.kernel.web import ClientInfo


@dataclass(eq=False)
class PasskeySignIn:
    passkeys: PasskeyService
    challenges: PasskeyChallenges
    auth: AuthService

    async def sign_in_options(self) -> Options:
        return await self.passkeys.assertion_options(SIGN_IN)

    async def sign_in(
        self, challenge_id: str, credential: dict[str, Any], client: ClientInfo
    ) -> IssuedTokens:
        pending = await self.challenges.take(challenge_id, SIGN_IN)
        asserted = await self.passkeys.verify_assertion(pending, credential, client)
        self.auth.ensure_may_sign_in(asserted.user)
        return await self.auth.open_session(asserted.user, list(PASSKEY_METHODS), client)

    async def second_factor_options(self, mfa_token: str) -> Options:
        """Options for answering the MFA challenge ``mfa_token`` with one of the account's
        passkeys (404 ``no_passkeys`` when it has none)."""
        user_id = await self.auth.pending_mfa_user(mfa_token)
        if user_id is None:
            raise invalid_mfa_challenge()
        if not await self.passkeys.count(user_id):
            raise NotFound("This account has no passkey.", code="no_passkeys")
        return await self.passkeys.assertion_options(
            SECOND_FACTOR, user_id=user_id, bound_to=fingerprint(mfa_token)
        )

    async def second_factor(
        self, mfa_token: str, challenge_id: str, credential: dict[str, Any], client: ClientInfo
    ) -> IssuedTokens:
        pending = await self.challenges.take(challenge_id, SECOND_FACTOR)
        if pending is not None and pending.bound_to != fingerprint(mfa_token):
            pending = None  # a challenge issued for another sign-in attempt
        asserted = await self.passkeys.verify_assertion(pending, credential, client)
        return await self.auth.finish_mfa(mfa_token, asserted.user, "hwk", client)

    async def reauthentication_options(self, principal: Principal) -> Options:
        if not await self.passkeys.count(principal.user_id):
            raise NotFound("This account has no passkey.", code="no_passkeys")
        return await self.passkeys.assertion_options(REAUTHENTICATE, user_id=principal.user_id)

    async def reauthenticate(
        self,
        principal: Principal,
        challenge_id: str,
        credential: dict[str, Any],
        client: ClientInfo,
    ) -> AccessToken:
        pending = await self.challenges.take(challenge_id, REAUTHENTICATE)
        if pending is not None and pending.user_id != principal.user_id:
            pending = None
        asserted = await self.passkeys.verify_assertion(pending, credential, client)
        self.auth.ensure_may_sign_in(asserted.user)
        return await self.auth.step_up(principal, asserted.user, list(PASSKEY_METHODS))
