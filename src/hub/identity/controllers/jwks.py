"""/.well-known/jwks.json: the public keys that verify access tokens."""

from __future__ import annotations

from litestar import Response, get
from litestar.datastructures import State

from hub.identity.deps import identity_of
from hub.identity.schemas import Jwks


@get(
    "/.well-known/jwks.json",
    tags=["System"],
    operation_id="jwks",
    summary="Public keys that verify access tokens (JWK Set)",
    opt={"exclude_from_metrics": True},
)
async def jwks(state: State) -> Response[Jwks]:
    return Response(
        Jwks(keys=await identity_of(state).public_keys()),
        media_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=60"},
    )
