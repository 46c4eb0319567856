"""/.well-known/jwks.json: the public keys that verify access tokens."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency

from hub.identity.schemas import Jwks
from hub.identity.services.signing import SigningKeys


@get(
    "/.well-known/jwks.json",
    tags=["System"],
    operation_id="jwks",
    media_type="application/jwk-set+json",
    summary="Public keys that verify access tokens (JWK Set)",
    opt={"exclude_from_metrics": True},
)
async def jwks(signing_keys: NamedDependency[SigningKeys]) -> Response[Jwks]:
    return Response(
        Jwks(keys=await signing_keys.public_keys()),
        media_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=60"},
    )
