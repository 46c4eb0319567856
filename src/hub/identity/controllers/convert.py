"""Service results to HTTP bodies."""

from __future__ import annotations

from typing import Annotated

from litestar.params import HeaderParameter

from hub.identity.schemas import MeOut, TokensOut
from hub.identity.services.accounts import Profile
from hub.identity.services.sessions import IssuedTokens

BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}]
#: Endpoints machine clients may call too: a bearer token or an API key.
BEARER_OR_KEY: list[dict[str, list[str]]] = [{"BearerToken": []}, {"ApiKey": []}]

#: ``Idempotency-Key`` request header of writes a client may retry.
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        max_length=255,
        description="Retry-safe writes: a repeated key replays the first response for 24 h.",
    ),
]


def replay_headers(replayed: bool) -> dict[str, str]:
    return {"Idempotent-Replayed": "true"} if replayed else {}


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
