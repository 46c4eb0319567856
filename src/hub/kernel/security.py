"""Authentication every context shares: who is calling, proven by public keys alone.

Identity signs short-lived access tokens (ES256 or EdDSA JWTs); this module verifies them
with nothing but the public key set identity hands over at start-up, so any context, or a
service split out of the monolith, authenticates a request without calling identity. One
Redis ``EXISTS`` per request makes logout and session revocation take effect at once:
identity marks a revoked session id for as long as its access tokens could still be valid.

API keys (machine clients) plug in through :meth:`Authenticator.use_api_keys`; the kernel
only parses the headers and hands the secret to whatever resolver identity registered.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, cast

import jwt
import msgspec
from litestar import Request
from litestar.di import Provide
from redis.asyncio import Redis

from hub.kernel.acting import bind_actor, bind_organisation
from hub.kernel.errors import Forbidden, Unauthorized
from hub.kernel.redis_pipe import CommandRunner
from hub.kernel.settings import Settings

#: Asymmetric algorithms only: ``none`` and every HMAC algorithm are refused before any key
#: is looked up, which is what defeats "HS256 signed with the public key" forgeries.
ALLOWED_ALGORITHMS: frozenset[str] = frozenset({"ES256", "EdDSA"})
#: RFC 9068 access-token type; a JWT of any other ``typ`` is not an access token.
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105
_REQUIRED_CLAIMS = ["exp", "iat", "sub", "sid", "iss", "aud"]
_REVOKED_PREFIX = "hub:revoked:sid:"
_REVOKED_CHANNEL_PREFIX = "hub:revoked:channel:"


def revoked_channel(session_id: uuid.UUID) -> str:
    """The Redis pub/sub channel a session's revocation is announced on (long-lived
    connections such as server-sent-event streams subscribe to it and close)."""
    return f"{_REVOKED_CHANNEL_PREFIX}{session_id}"


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller of one request.

    ``auth_time`` is when the user last proved a secret interactively (password, second
    factor, re-authentication), not when the token was minted, so sensitive actions can
    demand a *recent* authentication even from a session kept alive by refresh tokens.
    """

    user_id: uuid.UUID
    session_id: uuid.UUID | None = None
    auth_time: int = 0
    #: Authentication methods (RFC 8176): "pwd", "otp", "rec" (recovery code), "key".
    amr: tuple[str, ...] = ()
    is_platform_admin: bool = False
    api_key_id: uuid.UUID | None = None
    #: The organisation an API key is bound to; None for users (they pick one per request).
    organisation_id: uuid.UUID | None = None
    expires_at: int = 0

    def authenticated_within(self, seconds: int, *, now: float | None = None) -> bool:
        current = time.time() if now is None else now
        return self.api_key_id is None and current - self.auth_time <= seconds


class InvalidToken(Exception):
    """The access token is malformed, forged, expired or not meant for this audience."""


class KeySet:
    """Public verification keys by ``kid``; replaced whole so readers never see a half set."""

    def __init__(self, jwks: Iterable[Mapping[str, Any]] = ()) -> None:
        self._keys: dict[str, jwt.PyJWK] = {}
        self.replace(jwks)

    def replace(self, jwks: Iterable[Mapping[str, Any]]) -> None:
        keys: dict[str, jwt.PyJWK] = {}
        for data in jwks:
            kid = data.get("kid")
            alg = data.get("alg")
            if not isinstance(kid, str) or alg not in ALLOWED_ALGORITHMS:
                continue
            keys[kid] = jwt.PyJWK(dict(data), algorithm=str(alg))
        self._keys = keys

    def get(self, kid: str) -> jwt.PyJWK | None:
        return self._keys.get(kid)

    def kids(self) -> list[str]:
        return sorted(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


KeyLoader = Callable[[], Awaitable[Sequence[Mapping[str, Any]]]]


def _b64json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return msgspec.json.decode(base64.urlsafe_b64decode(padded))


#: How many verified access tokens a process remembers (see :class:`TokenVerifier`).
VERIFIED_TOKENS_KEPT = 4096


class TokenVerifier:
    """Checks access tokens: algorithm allow-list, known ``kid``, signature, iss/aud/exp.

    A client presents the same access token on every request of its lifetime, and the
    signature check (ECDSA plus PyJWT's parsing, ~0.3 ms here) was the largest single cost
    of a permission-checked read. So a token that passed every check is remembered, by its
    exact text, with the principal it proved and the key that verified it. A remembered
    token is accepted again only while that same key object is still in the key set (a
    retired key takes its tokens with it) and only until its ``exp`` (plus leeway) by
    ``clock``; expiry is decided by that one clock in both paths, so the cache can never
    stretch a token's life. Refused tokens are never remembered, so forgeries always pay
    the full check. Revocation is not this class's concern: the authenticator asks Redis on
    every request, cached token or not. The memory is bounded: at ``kept`` entries the
    oldest goes (``kept=0`` turns the cache off).

    An unknown ``kid`` triggers one reload of the key set (at most once per
    ``min_reload_seconds``), which is how a process learns a key another process just
    rotated in, without letting forged kids turn into a reload storm.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        leeway_seconds: int = 10,
        keys: KeySet | None = None,
        min_reload_seconds: float = 2.0,
        kept: int = VERIFIED_TOKENS_KEPT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway_seconds
        self.keys = keys or KeySet()
        self.min_reload_seconds = min_reload_seconds
        self._loader: KeyLoader | None = None
        self._last_reload = float("-inf")
        self._reload_lock = asyncio.Lock()
        # Expiry is checked below against ``clock``, the same clock the cache uses.
        self._jwt = jwt.PyJWT(
            {"require": _REQUIRED_CLAIMS, "verify_sub": False, "verify_exp": False}
        )
        self._kept = kept
        self._clock = clock
        self._verified: dict[str, tuple[Principal, jwt.PyJWK, str]] = {}

    def use_key_loader(self, loader: KeyLoader) -> None:
        self._loader = loader

    async def reload_keys(self) -> None:
        if self._loader is None:
            return
        self.keys.replace(await self._loader())
        self._last_reload = time.monotonic()

    async def _key_for(self, kid: str) -> jwt.PyJWK | None:
        key = self.keys.get(kid)
        if key is not None or self._loader is None:
            return key
        async with self._reload_lock:
            key = self.keys.get(kid)
            if key is None and time.monotonic() - self._last_reload >= self.min_reload_seconds:
                await self.reload_keys()
                key = self.keys.get(kid)
        return key

    async def verify(self, token: str) -> Principal:
        remembered = self._verified.get(token)
        if remembered is not None:
            known, verified_by, verified_kid = remembered
            if self.keys.get(verified_kid) is verified_by and not self._expired(known):
                return known
            # Expired, or its key is gone: forgotten, then refused by the full check.
            del self._verified[token]
        try:
            header_segment = token.split(".", 1)[0]
            header = _b64json(header_segment)
        except (ValueError, binascii.Error, msgspec.DecodeError):
            raise InvalidToken("malformed token") from None
        if not isinstance(header, dict):
            raise InvalidToken("malformed token header")
        alg = header.get("alg")
        kid = header.get("kid")
        if alg not in ALLOWED_ALGORITHMS:
            raise InvalidToken("algorithm not allowed")
        if header.get("typ") != ACCESS_TOKEN_TYPE:
            raise InvalidToken("not an access token")
        if not isinstance(kid, str):
            raise InvalidToken("no key id")
        key = await self._key_for(kid)
        if key is None:
            raise InvalidToken("unknown key id")
        if key.algorithm_name != alg:
            raise InvalidToken("algorithm does not match the key")
        try:
            claims = self._jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(type(exc).__name__) from None
        principal = principal_from_claims(claims)
        if self._expired(principal):
            raise InvalidToken("ExpiredSignatureError")
        if self._kept > 0:
            if len(self._verified) >= self._kept:
                # Dicts keep insertion order: the first entry is the oldest.
                del self._verified[next(iter(self._verified))]
            self._verified[token] = (principal, key, kid)
        return principal

    def _expired(self, principal: Principal) -> bool:
        # PyJWT's rule, on this verifier's clock: expired once exp <= now - leeway.
        return principal.expires_at <= self._clock() - self.leeway


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    try:
        amr = claims.get("amr") or ()
        return Principal(
            user_id=uuid.UUID(claims["sub"]),
            session_id=uuid.UUID(claims["sid"]),
            auth_time=int(claims.get("auth_time") or claims["iat"]),
            amr=tuple(str(m) for m in amr),
            is_platform_admin=claims.get("adm") is True,
            expires_at=int(claims["exp"]),
        )
    except (KeyError, ValueError, TypeError, AttributeError):
        raise InvalidToken("malformed claims") from None


class RevocationList:
    """Session ids whose access tokens must stop working before they expire.

    A key per revoked session, living exactly as long as an access token of that session
    could still pass :class:`TokenVerifier`, so the set never grows beyond the sessions
    revoked in the last token lifetime and a check is one ``EXISTS`` — on the process's
    lean pipelined connection (``pipe``) when given, as every authenticated request pays
    it; revoking stays on redis-py's client.
    """

    def __init__(
        self, redis: Redis, *, ttl_seconds: int, pipe: CommandRunner | None = None
    ) -> None:
        self.redis = redis
        self.ttl_seconds = ttl_seconds
        self._pipe = pipe

    async def revoke(self, session_ids: Iterable[uuid.UUID]) -> None:
        ids = list(session_ids)
        if not ids:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid in ids:
                pipe.set(_REVOKED_PREFIX + str(sid), b"1", ex=self.ttl_seconds)
                pipe.publish(revoked_channel(sid), b"1")
            await pipe.execute()

    @staticmethod
    def key(session_id: uuid.UUID) -> str:
        """The Redis key that marks ``session_id`` revoked while it exists."""
        return _REVOKED_PREFIX + str(session_id)

    async def is_revoked(self, session_id: uuid.UUID) -> bool:
        key = self.key(session_id)
        if self._pipe is not None:
            return bool(await self._pipe(b"EXISTS", key))
        return bool(await self.redis.exists(key))


#: Resolves an API key to its principal (None: unknown or revoked key). Gets the key and
#: the client's address (proxy-aware), which brute-force protection counts failures by.
ApiKeyResolver = Callable[[str, str], Awaitable[Principal | None]]


def unauthorized(detail: str, *, code: str = "invalid_token") -> Unauthorized:
    """A 401 with the ``WWW-Authenticate`` challenge that matches ``code``."""
    challenge = 'Bearer error="invalid_token"' if code == "invalid_token" else "Bearer"
    return Unauthorized(detail, code=code, headers={"WWW-Authenticate": challenge})


class Authenticator:
    """Turns request credentials into a :class:`Principal`, or refuses them with a 401."""

    def __init__(
        self,
        verifier: TokenVerifier,
        revocations: RevocationList,
        client_address: ClientAddress | None = None,
    ) -> None:
        self.verifier = verifier
        self.revocations = revocations
        self.client_address = client_address or ClientAddress(())
        self._api_keys: ApiKeyResolver | None = None

    def use_api_keys(self, resolver: ApiKeyResolver) -> None:
        """Extension point for API keys (``Authorization: ApiKey …`` or ``X-API-Key``)."""
        self._api_keys = resolver

    async def bearer(self, token: str, *, check_revocation: bool = True) -> Principal:
        try:
            principal = await self.verifier.verify(token)
        except InvalidToken:
            raise unauthorized("The access token is invalid or expired.") from None
        if check_revocation:
            await self.check_revocation(principal)
        return principal

    async def api_key(self, secret: str, client_ip: str = "unknown") -> Principal:
        principal = None
        if self._api_keys is not None:
            principal = await self._api_keys(secret, client_ip)
        if principal is None:
            raise Unauthorized(
                "The API key is invalid or revoked.",
                code="invalid_api_key",
                headers={"WWW-Authenticate": "ApiKey"},
            )
        return principal

    async def authenticate(
        self,
        authorization: str | None,
        api_key: str | None,
        *,
        check_revocation: bool = True,
        scope: Mapping[str, Any] | None = None,
    ) -> Principal:
        if authorization is not None:
            scheme, credential = parse_authorization(authorization)
            if scheme == "bearer":
                return await self.bearer(credential, check_revocation=check_revocation)
            if scheme == "apikey":
                return await self.api_key(credential, self._client_ip(scope))
            raise unauthorized("Unsupported authorization scheme.")
        if api_key is not None:
            if not _TOKEN68.fullmatch(api_key):
                raise unauthorized("Malformed X-API-Key header.", code="malformed_credentials")
            return await self.api_key(api_key, self._client_ip(scope))
        raise unauthorized("Authentication required.", code="authentication_required")

    async def identify(self, scope: dict[str, Any]) -> Principal | None:
        """The caller the request's credentials prove, verified once per request.

        Signature, expiry and API-key lookup, but no revocation check (the principal
        dependencies add it). None when the request carries no credentials; a 401 when they
        are bad. The outcome, refusal included, is kept on the scope: the rate limiter keys
        on the caller before routing reaches the handler, and the ``principal`` dependency
        reuses that verification instead of repeating it (an ES256 check is ~0.4 ms, and an
        API-key failure must be counted once).
        """
        known = scope.get(_IDENTIFIED_SCOPE_KEY, _UNSET)
        if known is not _UNSET:
            if isinstance(known, Unauthorized):
                raise known
            return cast(Principal | None, known)
        principal: Principal | None = None
        try:
            authorization, api_key = _credentials(scope)
        except Unauthorized as exc:
            scope[_IDENTIFIED_SCOPE_KEY] = exc
            raise
        if authorization is not None or api_key is not None:
            try:
                principal = await self.authenticate(
                    authorization, api_key, check_revocation=False, scope=scope
                )
            except Unauthorized as exc:
                scope[_IDENTIFIED_SCOPE_KEY] = exc
                raise
        scope[_IDENTIFIED_SCOPE_KEY] = principal
        return principal

    async def check_revocation(
        self, principal: Principal, scope: Mapping[str, Any] | None = None
    ) -> None:
        """Refuse a token whose session has ended (logout, revocation) before it expires.

        When this request's rate-limit check already read the session's revocation mark
        (:meth:`note_revocation`, same round trip as the limit), that answer is used;
        otherwise one ``EXISTS``.
        """
        session_id = principal.session_id
        if session_id is None:
            return
        noted = scope.get(_REVOCATION_SCOPE_KEY) if scope is not None else None
        if noted is not None and noted[0] == session_id:
            revoked = noted[1]
        else:
            revoked = await self.revocations.is_revoked(session_id)
        if revoked:
            raise unauthorized("The session of this access token has ended.")

    def revocation_probe(self, principal: Principal) -> str | None:
        """The key whose existence says the principal's session is revoked (None: the
        principal has no session, an API key), for a caller that reads it alongside
        another Redis call and hands the answer to :meth:`note_revocation`."""
        session_id = principal.session_id
        return None if session_id is None else self.revocations.key(session_id)

    @staticmethod
    def note_revocation(scope: dict[str, Any], principal: Principal, revoked: bool) -> None:
        """Record what the probe of :meth:`revocation_probe` found, read moments ago in
        this request: :meth:`check_revocation` then answers from it, without asking Redis
        again. Only for that principal's session, only for this request."""
        if principal.session_id is not None:
            scope[_REVOCATION_SCOPE_KEY] = (principal.session_id, revoked)

    def _client_ip(self, scope: Mapping[str, Any] | None) -> str:
        return self.client_address.of(scope) if scope is not None else "unknown"


def build_authenticator(
    settings: Settings, redis: Redis, *, pipe: CommandRunner | None = None
) -> Authenticator:
    verifier = TokenVerifier(
        issuer=settings.token_issuer,
        audience=settings.jwt_audience,
        leeway_seconds=settings.jwt_leeway_seconds,
        kept=settings.verified_tokens_kept,
    )
    revocations = RevocationList(
        redis,
        ttl_seconds=settings.access_token_ttl_seconds + settings.jwt_leeway_seconds + 5,
        pipe=pipe,
    )
    return Authenticator(verifier, revocations, ClientAddress(settings.trusted_proxies))


class ClientAddress:
    """The caller's IP: the TCP peer, or ``X-Forwarded-For`` only when the peer is trusted.

    Walking ``X-Forwarded-For`` from the right and stopping at the first hop that is not a
    configured proxy yields the address the outermost trusted proxy saw; whatever a client
    writes into the header itself stays to the left of that and is ignored.
    """

    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self._networks = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)

    def _trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    def of(self, scope: Mapping[str, Any]) -> str:
        client = scope.get("client")
        peer = str(client[0]) if client else "unknown"
        if not self._networks or not self._trusted(peer):
            return peer
        values = [
            value.decode("latin-1")
            for name, value in scope.get("headers", ())
            if name == b"x-forwarded-for"
        ]
        hops = [hop.strip() for hop in ",".join(values).split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop
        return hops[0] if hops else peer


_PRINCIPAL_SCOPE_KEY = "hub.principal"
#: What :meth:`Authenticator.identify` concluded for this request (principal, None or 401).
_IDENTIFIED_SCOPE_KEY = "hub.identified"
#: ``(session id, revoked)`` read in this request by the rate-limit check's probe.
_REVOCATION_SCOPE_KEY = "hub.revocation"
_UNSET: Any = object()


#: RFC 7235 ``auth-scheme`` (a token) and ``token68`` credentials: JWTs and hub API keys are
#: both token68. Nothing else is accepted, whitespace of any kind included.
_SCHEME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def parse_authorization(value: str) -> tuple[str, str]:
    """``Authorization`` parsed strictly, once: a scheme token, exactly one space, token68
    credentials; ``(scheme in lower case, credentials)``. Anything else (leading or inner
    whitespace of any kind — NBSP, NEL, tabs —, a missing credential) is a 401, so no later
    check can see the header differently from the authenticator."""
    scheme, sep, credential = value.partition(" ")
    if not sep or not _SCHEME.fullmatch(scheme) or not _TOKEN68.fullmatch(credential):
        raise unauthorized("Malformed Authorization header.", code="malformed_credentials")
    return scheme.lower(), credential


def _credentials(scope: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The raw ``Authorization`` and ``X-API-Key`` values; a repeated one is refused (two
    credentials must never be read two ways)."""
    authorization = api_key = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            if authorization is not None:
                raise unauthorized("Repeated Authorization header.", code="malformed_credentials")
            authorization = value.decode("latin-1")
        elif name == b"x-api-key":
            if api_key is not None:
                raise unauthorized("Repeated X-API-Key header.", code="malformed_credentials")
            api_key = value.decode("latin-1")
    return authorization, api_key


def _bind_acting(request: Request[Any, Any, Any], principal: Principal) -> None:
    """Record the caller (and the organisation it addresses) for event stamping.

    The organisation is an API key's own, else the route's ``org_id`` path parameter;
    routes naming it elsewhere bind it themselves (:func:`hub.kernel.acting.bind_organisation`).
    """
    bind_actor(principal.user_id, "api_key" if principal.api_key_id is not None else "user")
    organisation = principal.organisation_id
    if organisation is None:
        addressed = request.path_params.get("org_id")
        organisation = addressed if isinstance(addressed, uuid.UUID) else None
    if organisation is not None:
        bind_organisation(organisation)


async def require_principal(request: Request[Any, Any, Any]) -> Principal:
    """Litestar dependency ``principal``: the authenticated caller, or a 401."""
    scope = cast(dict[str, Any], request.scope)
    cached = scope.get(_PRINCIPAL_SCOPE_KEY)
    if cached is not None:
        return cast(Principal, cached)
    authenticator: Authenticator = request.app.state.kernel.security
    principal = await authenticator.identify(scope)
    if principal is None:
        raise unauthorized("Authentication required.", code="authentication_required")
    await authenticator.check_revocation(principal, scope)
    scope[_PRINCIPAL_SCOPE_KEY] = principal
    _bind_acting(request, principal)
    return principal


async def require_token_principal(request: Request[Any, Any, Any]) -> Principal:
    """Litestar dependency ``token_principal``: like ``principal`` without the revocation
    check, for handlers that read the session row themselves in the same query as their
    data (identity's ``/auth/me``), which is the revocation set's source of truth anyway.
    A handler using it MUST refuse the request when that session is revoked."""
    authenticator: Authenticator = request.app.state.kernel.security
    principal = await authenticator.identify(cast(dict[str, Any], request.scope))
    if principal is None:
        raise unauthorized("Authentication required.", code="authentication_required")
    _bind_acting(request, principal)
    return principal


async def optional_principal(request: Request[Any, Any, Any]) -> Principal | None:
    """Litestar dependency ``optional_principal``: None for anonymous callers.

    Credentials that are present but invalid still answer 401 rather than silently
    downgrading the caller to anonymous.
    """
    authorization, api_key = _credentials(request.scope)
    if authorization is None and api_key is None:
        return None
    return await require_principal(request)


def security_dependencies() -> dict[str, Provide]:
    """Dependencies the composition root installs for every context's handlers."""
    return {
        "principal": Provide(require_principal),
        "optional_principal": Provide(optional_principal),
        "token_principal": Provide(require_token_principal),
    }


def require_recent_authentication(principal: Principal, max_age_seconds: int) -> None:
    """Refuse a sensitive action unless the caller proved a secret in the last minutes."""
    if not principal.authenticated_within(max_age_seconds):
        raise Forbidden(
            "This action needs a recent sign-in: re-authenticate and try again.",
            code="reauthentication_required",
            extra={"maxAgeSeconds": max_age_seconds},
        )


def require_platform_admin(principal: Principal) -> None:
    if not principal.is_platform_admin:
        raise Forbidden("Platform administrators only.")
