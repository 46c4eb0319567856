"""Token verification with public keys alone: every forgery is refused."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from hub.kernel.security import (
    ClientAddress,
    InvalidToken,
    KeySet,
    Principal,
    TokenVerifier,
)

ISS = "https://hub.example"
AUD = "hub-api"


def _ec_key(kid: str) -> tuple[Any, dict[str, Any]]:
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    jwk.update(kid=kid, alg="ES256", use="sig")
    return private, jwk


def _ed_key(kid: str) -> tuple[Any, dict[str, Any]]:
    private = ed25519.Ed25519PrivateKey.generate()
    jwk = jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    jwk.update(kid=kid, alg="EdDSA", use="sig")
    return private, jwk


def _claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 300,
        "auth_time": now - 5,
        "amr": ["pwd"],
    }
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(private: Any, kid: str, alg: str = "ES256", typ: str = "at+jwt", **claims: Any) -> str:
    return jwt.encode(_claims(**claims), private, algorithm=alg, headers={"kid": kid, "typ": typ})


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.fixture
def keys() -> dict[str, Any]:
    es, es_jwk = _ec_key("k-es")
    ed, ed_jwk = _ed_key("k-ed")
    return {"es": es, "ed": ed, "jwks": [es_jwk, ed_jwk]}


@pytest.fixture
def verifier(keys: dict[str, Any]) -> TokenVerifier:
    return TokenVerifier(issuer=ISS, audience=AUD, leeway_seconds=5, keys=KeySet(keys["jwks"]))


async def test_valid_es256_and_eddsa_tokens_give_a_principal(
    verifier: TokenVerifier, keys: dict[str, Any]
) -> None:
    sub, sid = str(uuid.uuid4()), str(uuid.uuid4())
    es = await verifier.verify(_sign(keys["es"], "k-es", sub=sub, sid=sid, adm=True))
    assert es == Principal(
        user_id=uuid.UUID(sub),
        session_id=uuid.UUID(sid),
        auth_time=es.auth_time,
        amr=("pwd",),
        is_platform_admin=True,
        expires_at=es.expires_at,
    )
    assert es.authenticated_within(60)
    assert not es.authenticated_within(60, now=time.time() + 3600)
    ed = await verifier.verify(_sign(keys["ed"], "k-ed", alg="EdDSA"))
    assert ed.is_platform_admin is False


async def test_alg_none_is_refused(verifier: TokenVerifier) -> None:
    header = _b64({"alg": "none", "typ": "at+jwt", "kid": "k-es"})
    token = f"{header}.{_b64(_claims())}."
    with pytest.raises(InvalidToken):
        await verifier.verify(token)


async def test_hs256_signed_with_the_public_key_is_refused(
    verifier: TokenVerifier, keys: dict[str, Any]
) -> None:
    public_pem = (
        keys["es"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    import hashlib
    import hmac

    header = _b64({"alg": "HS256", "typ": "at+jwt", "kid": "k-es"})
    payload = _b64(_claims())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    with pytest.raises(InvalidToken, match="algorithm"):
        await verifier.verify(token)


async def test_tampered_payload_is_refused(verifier: TokenVerifier, keys: dict[str, Any]) -> None:
    header, _, signature = _sign(keys["es"], "k-es").split(".")
    forged = f"{header}.{_b64(_claims(adm=True))}.{signature}"
    with pytest.raises(InvalidToken):
        await verifier.verify(forged)


async def test_a_key_from_another_alg_family_does_not_verify(
    verifier: TokenVerifier, keys: dict[str, Any]
) -> None:
    # Claims an EdDSA signature under the ES256 key id.
    with pytest.raises(InvalidToken, match="match"):
        await verifier.verify(_sign(keys["ed"], "k-es", alg="EdDSA"))


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 60}, "Expired"),
        ({"aud": "another-api"}, "Audience"),
        ({"iss": "https://evil.example"}, "Issuer"),
        ({"sid": None}, "Missing"),
        ({"sub": "not-a-uuid"}, "claims"),
    ],
)
async def test_bad_claims_are_refused(
    verifier: TokenVerifier, keys: dict[str, Any], claims: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidToken, match=reason):
        await verifier.verify(_sign(keys["es"], "k-es", **claims))


async def test_unknown_kid_reloads_once_then_refuses(keys: dict[str, Any]) -> None:
    stranger, _stranger_jwk = _ec_key("k-new")
    calls: list[int] = []
    published: list[dict[str, Any]] = list(keys["jwks"])

    async def loader() -> list[dict[str, Any]]:
        calls.append(1)
        return published

    verifier = TokenVerifier(issuer=ISS, audience=AUD, min_reload_seconds=3600)
    verifier.use_key_loader(loader)
    with pytest.raises(InvalidToken, match="unknown key"):
        await verifier.verify(_sign(stranger, "k-new"))
    assert len(calls) == 1
    # Forged kids do not turn into a reload storm.
    for _ in range(5):
        with pytest.raises(InvalidToken):
            await verifier.verify(_sign(stranger, "k-other"))
    assert len(calls) == 1


async def test_a_rotated_in_key_is_learnt_on_first_sight(keys: dict[str, Any]) -> None:
    newcomer, newcomer_jwk = _ec_key("k-rotated")
    published: list[dict[str, Any]] = list(keys["jwks"])

    async def loader() -> list[dict[str, Any]]:
        return published

    verifier = TokenVerifier(issuer=ISS, audience=AUD, min_reload_seconds=0)
    verifier.use_key_loader(loader)
    await verifier.reload_keys()
    published.append(newcomer_jwk)
    principal = await verifier.verify(_sign(newcomer, "k-rotated"))
    assert principal.session_id is not None


async def test_wrong_type_and_garbage_are_refused(
    verifier: TokenVerifier, keys: dict[str, Any]
) -> None:
    with pytest.raises(InvalidToken, match="access token"):
        await verifier.verify(_sign(keys["es"], "k-es", typ="JWT"))
    for garbage in ("", "abc", "hub_rt_" + "x" * 43, "a.b.c", "e30.e30.", "!!!.???.###"):
        with pytest.raises(InvalidToken):
            await verifier.verify(garbage)


def test_keyset_ignores_symmetric_and_unknown_algorithms() -> None:
    _, good = _ec_key("good")
    keys = KeySet([good, {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac", "alg": "HS256"}])
    assert keys.kids() == ["good"]


def _scope(peer: str, xff: list[str] | None = None) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", v.encode()) for v in (xff or [])]
    return {"client": (peer, 1234), "headers": headers}


def test_client_address_ignores_forwarded_for_from_untrusted_peers() -> None:
    resolver = ClientAddress(["10.0.0.0/8"])
    assert resolver.of(_scope("203.0.113.9", ["1.2.3.4"])) == "203.0.113.9"
    assert ClientAddress([]).of(_scope("203.0.113.9", ["1.2.3.4"])) == "203.0.113.9"


def test_client_address_takes_rightmost_untrusted_hop_behind_proxies() -> None:
    resolver = ClientAddress(["10.0.0.0/8", "192.0.2.1"])
    # The client forged "6.6.6.6"; the trusted proxies appended the real address.
    scope = _scope("10.0.0.5", ["6.6.6.6, 198.51.100.7", "192.0.2.1"])
    assert resolver.of(scope) == "198.51.100.7"
    assert resolver.of(_scope("10.0.0.5")) == "10.0.0.5"
    assert resolver.of(_scope("10.0.0.5", ["10.1.1.1"])) == "10.1.1.1"


class _Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_a_remembered_token_expires_on_the_verifiers_clock(keys: dict[str, Any]) -> None:
    clock = _Clock()
    verifier = TokenVerifier(
        issuer=ISS, audience=AUD, leeway_seconds=5, keys=KeySet(keys["jwks"]), clock=clock
    )
    token = _sign(keys["es"], "k-es", exp=int(clock.now) + 60)
    first = await verifier.verify(token)
    assert await verifier.verify(token) == first
    clock.now = first.expires_at + 4  # inside the leeway: still good
    assert await verifier.verify(token) == first
    clock.now = first.expires_at + 5
    with pytest.raises(InvalidToken, match="Expired"):
        await verifier.verify(token)
    assert token not in verifier._verified  # an expired token is not kept
    # A fresh verifier on that clock refuses it too: the cache never stretches a life.
    fresh = TokenVerifier(
        issuer=ISS, audience=AUD, leeway_seconds=5, keys=KeySet(keys["jwks"]), clock=clock
    )
    with pytest.raises(InvalidToken, match="Expired"):
        await fresh.verify(token)


async def test_a_retired_key_takes_its_remembered_tokens_with_it(keys: dict[str, Any]) -> None:
    key_set = KeySet(keys["jwks"])
    verifier = TokenVerifier(issuer=ISS, audience=AUD, keys=key_set)
    token = _sign(keys["es"], "k-es")
    await verifier.verify(token)
    key_set.replace([j for j in keys["jwks"] if j["kid"] != "k-es"])
    with pytest.raises(InvalidToken, match="unknown key"):
        await verifier.verify(token)
    # The same kid published again with another key: the old token does not verify.
    _other, other_jwk = _ec_key("k-es")
    key_set.replace([other_jwk])
    with pytest.raises(InvalidToken, match="Signature"):
        await verifier.verify(token)


async def test_only_verified_tokens_are_remembered_and_their_number_is_bounded(
    keys: dict[str, Any],
) -> None:
    verifier = TokenVerifier(issuer=ISS, audience=AUD, keys=KeySet(keys["jwks"]), kept=3)
    decoded: list[str] = []
    real_decode = verifier._jwt.decode

    def counting_decode(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return real_decode(token, *args, **kwargs)

    verifier._jwt.decode = counting_decode  # type: ignore[method-assign]
    good = _sign(keys["es"], "k-es")
    header, _, signature = good.split(".")
    forged = f"{header}.{_b64(_claims(adm=True))}.{signature}"
    for _ in range(3):
        await verifier.verify(good)
        with pytest.raises(InvalidToken):
            await verifier.verify(forged)
    # The good token was checked once; the forgery every time.
    assert decoded.count(good) == 1
    assert decoded.count(forged) == 3
    others = [_sign(keys["es"], "k-es") for _ in range(5)]
    for other in others:
        await verifier.verify(other)
    assert len(verifier._verified) == 3
    assert list(verifier._verified) == others[-3:]
    await verifier.verify(good)  # evicted, so checked again
    assert decoded.count(good) == 2
