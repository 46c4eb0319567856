"""Access tokens through HTTP: forgeries answer 401, JWKS publishes the keys, rotation
keeps old tokens valid, revocation is immediate."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.identity.support import API, bearer, signed_in
from tests.support import problem


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
    )


async def _me(client: AsyncTestClient[Litestar], token: str) -> int:
    r = await client.get(f"{API}/auth/me", headers=bearer(token))
    if r.status_code == 401:
        body = problem(r)
        assert body["code"] == "invalid_token"
        assert r.headers["www-authenticate"].startswith("Bearer")
    return r.status_code


async def test_forged_tokens_are_refused(
    app: Litestar, client: AsyncTestClient[Litestar], database_url: str
) -> None:
    tokens = await signed_in(client, database_url, "forge@example.com")
    good = tokens["accessToken"]
    assert await _me(client, good) == 200
    header, claims = _parts(good)
    assert header["alg"] == "ES256"
    assert header["typ"] == "at+jwt"
    assert header["kid"]
    assert claims["sid"] == tokens["sessionId"]
    assert claims["sub"] == tokens["userId"]

    jwks = (await client.get("/.well-known/jwks.json")).json()["keys"]
    public = jwt.PyJWK(jwks[0]).key
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = await app.state.kernel.services["signing_keys"].ring.active()
    now = int(time.time())

    def signed(**over: Any) -> str:
        body = {**claims, **over}
        return jwt.encode(
            {k: v for k, v in body.items() if v is not None},
            key.private_key,
            algorithm="ES256",
            headers={"kid": key.kid, "typ": "at+jwt"},
        )

    none_token = f"{_b64(json.dumps({**header, 'alg': 'none'}).encode())}.{good.split('.')[1]}."
    hs_header = _b64(json.dumps({**header, "alg": "HS256"}).encode())
    hs_input = f"{hs_header}.{good.split('.')[1]}"
    hs_token = (
        f"{hs_input}.{_b64(hmac.new(public_pem, hs_input.encode(), hashlib.sha256).digest())}"
    )
    tampered_claims = _b64(
        json.dumps({**claims, "sub": "00000000-0000-7000-8000-000000000000"}).encode()
    )
    tampered = ".".join([good.split(".")[0], tampered_claims, good.split(".")[2]])
    stranger = ec.generate_private_key(ec.SECP256R1())
    unknown_kid = jwt.encode(
        claims, stranger, algorithm="ES256", headers={"kid": "nope", "typ": "at+jwt"}
    )
    reused_kid = jwt.encode(
        claims, stranger, algorithm="ES256", headers={"kid": key.kid, "typ": "at+jwt"}
    )
    forgeries = {
        "alg none": none_token,
        "HS256 with the public key": hs_token,
        "tampered payload": tampered,
        "unknown kid": unknown_kid,
        "right kid, wrong key": reused_kid,
        "expired": signed(iat=now - 3600, nbf=now - 3600, exp=now - 60),
        "wrong audience": signed(aud="another-api"),
        "wrong issuer": signed(iss="https://evil.example"),
        "refresh token as access token": tokens["refreshToken"],
        "mfa-less garbage": "not-a-token",
    }
    for name, forged in forgeries.items():
        assert await _me(client, forged) == 401, name
    # The real key signing the same claims is accepted: the refusals above are the claims'.
    assert await _me(client, signed()) == 200
    r = await client.get(f"{API}/auth/me")
    assert r.status_code == 401
    assert problem(r)["code"] == "authentication_required"
    r = await client.get(f"{API}/auth/me", headers={"Authorization": f"Basic {good}"})
    assert r.status_code == 401


async def test_access_token_of_a_revoked_session_is_refused(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    tokens = await signed_in(client, database_url, "revoked@example.com")
    r = await client.delete(
        f"{API}/auth/sessions/{tokens['sessionId']}", headers=bearer(tokens["accessToken"])
    )
    assert r.status_code == 204
    assert await _me(client, tokens["accessToken"]) == 401
    # Endpoints of every context check the kernel's revocation set (Redis), not the row.
    r = await client.get(f"{API}/auth/sessions", headers=bearer(tokens["accessToken"]))
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_token"


async def test_jwks_publishes_public_keys_only(client: AsyncTestClient[Litestar]) -> None:
    r = await client.get("/.well-known/jwks.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/jwk-set+json")
    (key,) = r.json()["keys"]
    assert key["kty"] == "EC"
    assert key["crv"] == "P-256"
    assert key["alg"] == "ES256"
    assert key["use"] == "sig"
    assert key["kid"]
    assert "d" not in key  # no private part
