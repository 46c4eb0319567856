"""Service results to HTTP bodies."""

from __future__ import annotations

from hub.identity.schemas import MeOut, TokensOut
from hub.identity.services.accounts import Profile
from hub.identity.services.sessions import IssuedTokens

BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}]


def tokens_out(issued: IssuedTokens) -> TokensOut:
    return TokensOut(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
        refresh_expires_in=issued.refresh_expires_in,
        session_id=issued.session_id,
        user_id=issued.user_id,
    )


def me_out(profile: Profile) -> MeOut:
    return MeOut(
        id=profile.id,
        email=profile.email,
        display_name=profile.display_name,
        email_verified=profile.email_verified,
        mfa_enabled=profile.mfa_enabled,
        is_platform_admin=profile.is_platform_admin,
        created_at=profile.created_at,
    )
