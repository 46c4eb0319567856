"""The OpenID Connect relying party's conversations with a provider: discovery, the code
exchange, the ID token's validation and, when the ID token lacks the e-mail claims, the
UserInfo endpoint.

Every request goes through :mod:`hub.kernel.egress`: an administrator chose the issuer,
so the hub must not be steered at its own network (loopback, private and metadata
addresses are refused unless ``HUB_OIDC_ALLOW_PRIVATE_NETWORKS`` lists them), redirects
are not followed and answers are bounded.

The ID token is verified by maintained libraries, not by hand: its signature with
joserfc against the provider's published keys (only asymmetric algorithms, never
``none``), its claims with Authlib's ``CodeIDToken`` rules (``iss`` exactly the issuer,
``aud`` this client, ``azp``, ``exp``/``iat`` against the injected clock, ``nonce`` the
one this sign-in sent, ``at_hash`` when present).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from authlib.oidc.core import CodeIDToken  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from hub.identity.domain.sso import ID_TOKEN_ALGORITHMS, logout_token_invalid
from hub.kernel import egress
from hub.kernel.egress import AddressPolicy, EgressRefused
from hub.kernel.errors import DependencyUnavailable, FieldError, Invalid, Unauthorized

MAX_ANSWER = 256 * 1024
#: Clock skew tolerated on ``exp``, ``iat`` and ``nbf`` (seconds).
LEEWAY = 60


def discovery_failed(detail: str) -> Invalid:
    message = f"The issuer's discovery document could not be used: {detail}"
    return Invalid(
        message,
        code="issuer_discovery_failed",
        errors=[FieldError(field="issuer", message=message, source="body")],
    )


def sso_failed(detail: str) -> Unauthorized:
    return Unauthorized(detail, code="sso_failed")


def id_token_invalid(detail: str) -> Unauthorized:
    return Unauthorized(
        f"The identity provider's ID token was refused: {detail}", code="sso_id_token_invalid"
    )


@dataclass(frozen=True)
class Endpoints:
    """What discovery told us, as stored on the provider's row."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    #: "client_secret_basic" (the default of OAuth 2.0) or "client_secret_post".
    token_auth: str
    #: Asked for the e-mail claims when the ID token lacks them (None: the provider
    #: publishes none, or it was discovered before the hub used it).
    userinfo_endpoint: str | None = None
    #: Where the browser is sent to end the provider's session too (OpenID Connect
    #: RP-Initiated Logout; None: the provider publishes none).
    end_session_endpoint: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "jwks_uri": self.jwks_uri,
            "algorithms": list(self.algorithms),
            "token_auth": self.token_auth,
            "userinfo_endpoint": self.userinfo_endpoint,
            "end_session_endpoint": self.end_session_endpoint,
        }

    @classmethod
    def of(cls, stored: dict[str, Any]) -> Endpoints:
        userinfo, end_session = stored.get("userinfo_endpoint"), stored.get("end_session_endpoint")
        return cls(
            authorization_endpoint=str(stored["authorization_endpoint"]),
            token_endpoint=str(stored["token_endpoint"]),
            jwks_uri=str(stored["jwks_uri"]),
            algorithms=tuple(stored["algorithms"]),
            token_auth=str(stored["token_auth"]),
            userinfo_endpoint=userinfo if isinstance(userinfo, str) else None,
            end_session_endpoint=end_session if isinstance(end_session, str) else None,
        )


class OidcClient:
    """A plain class, not a dataclass: the services holding it are injected by type, and
    Litestar's signature model would otherwise walk into the address policy's fields."""

    def __init__(
        self, policy: AddressPolicy, resolver: egress.Resolver = egress.system_resolver
    ) -> None:
        self.policy = policy
        #: The resolver egress uses (tests may hand in one; production: the system's).
        self.resolver = resolver

    def check_issuer(self, issuer: str) -> None:
        """An issuer the hub may talk to: https, or http to an address of
        ``HUB_OIDC_ALLOW_PRIVATE_NETWORKS`` (a provider on the same host or network in
        development); never loopback, private or metadata addresses otherwise."""
        try:
            target = egress.check_url(issuer, self.policy)
        except EgressRefused as exc:
            raise discovery_failed(exc.reason) from None
        if target.scheme == "http" and not self._allowed_network(target.address):
            raise discovery_failed("use https:// (plain http only to an allowed private network)")

    def _allowed_network(self, address: egress.IPAddress | None) -> bool:
        if address is None:
            return False
        return any(address.version == n.version and address in n for n in self.policy.allowed)

    async def _json(
        self, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        try:
            answer = await egress.request(
                method,
                url,
                body,
                {"Accept": "application/json", **(headers or {})},
                policy=self.policy,
                resolver=self.resolver,
                max_body=MAX_ANSWER,
            )
        except EgressRefused as exc:
            raise sso_failed(f"The identity provider cannot be reached: {exc.reason}") from None
        except (httpx.HTTPError, TimeoutError, OSError):
            raise DependencyUnavailable("identity provider") from None
        if len(answer.body) >= MAX_ANSWER:
            raise sso_failed("The identity provider's answer is too large.")
        try:
            return answer.status, json.loads(answer.body)
        except ValueError:
            return answer.status, None

    async def discover(self, issuer: str) -> Endpoints:
        """Read ``{issuer}/.well-known/openid-configuration`` (422 ``issuer_discovery_failed``
        when it is missing, names another issuer, or lacks the code flow)."""
        self.check_issuer(issuer)
        try:
            status, doc = await self._json("GET", f"{issuer}/.well-known/openid-configuration")
        except (Unauthorized, DependencyUnavailable) as exc:
            raise discovery_failed(str(exc)) from None
        if status != 200 or not isinstance(doc, dict):
            raise discovery_failed(f"HTTP {status}, or not a JSON object")
        if doc.get("issuer") != issuer:
            raise discovery_failed(f"it names the issuer {doc.get('issuer')!r}")
        urls = {}
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = doc.get(key)
            if not isinstance(value, str):
                raise discovery_failed(f"{key} is missing")
            try:
                egress.check_url(value, self.policy)
            except EgressRefused as exc:
                raise discovery_failed(f"{key}: {exc.reason}") from None
            urls[key] = value
        userinfo = self._optional_url(doc, "userinfo_endpoint")
        end_session = self._optional_url(doc, "end_session_endpoint")
        if "code" not in (doc.get("response_types_supported") or ["code"]):
            raise discovery_failed("the provider does not offer the authorization code flow")
        offered = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = tuple(a for a in ID_TOKEN_ALGORITHMS if a in offered)
        if not algorithms:
            raise discovery_failed("it signs ID tokens with no algorithm the hub accepts")
        methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        token_auth = (
            "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
        )
        if token_auth not in methods:
            raise discovery_failed("its token endpoint takes neither client_secret_basic nor _post")
        return Endpoints(
            **urls,
            algorithms=algorithms,
            token_auth=token_auth,
            userinfo_endpoint=userinfo,
            end_session_endpoint=end_session,
        )

    def _optional_url(self, doc: dict[str, Any], key: str) -> str | None:
        """An endpoint the provider may publish: checked like the required ones."""
        value = doc.get(key)
        if not isinstance(value, str):
            return None
        try:
            egress.check_url(value, self.policy)
        except EgressRefused as exc:
            raise discovery_failed(f"{key}: {exc.reason}") from None
        return value

    async def exchange(
        self,
        endpoints: Endpoints,
        *,
        client_id: str,
        client_secret: str,
        code: str,
        redirect_uri: str,
        code_verifier: str,
    ) -> dict[str, Any]:
        """The token answer for ``code`` (401 ``sso_failed`` when the provider refuses)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if endpoints.token_auth == "client_secret_basic":  # noqa: S105 (a method name)
            # RFC 6749 2.3.1: both parts form-encoded before the Basic encoding.
            pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
            form["client_id"] = client_id
        else:
            form |= {"client_id": client_id, "client_secret": client_secret}
        status, answer = await self._json(
            "POST", endpoints.token_endpoint, urlencode(form).encode(), headers
        )
        if (
            status != 200
            or not isinstance(answer, dict)
            or not isinstance(answer.get("id_token"), str)
        ):
            error = answer.get("error") if isinstance(answer, dict) else None
            raise sso_failed(
                "The identity provider refused to complete the sign-in"
                + (f" ({error})." if isinstance(error, str) else ".")
            )
        return answer

    async def userinfo(self, url: str, access_token: str, subject: str) -> dict[str, Any]:
        """The UserInfo answer (OIDC Core 5.3) for the access token of this sign-in.

        Only a plain JSON answer is taken (a signed or encrypted one is refused), and only
        when it is about the ID token's subject: OIDC Core 5.3.2 requires the check, since
        a substituted answer would otherwise put someone else's address on the account.
        """
        status, info = await self._json(
            "GET", url, headers={"Authorization": f"Bearer {access_token}"}
        )
        if status != 200 or not isinstance(info, dict):
            raise sso_failed("The identity provider's UserInfo endpoint did not answer.")
        if info.get("sub") != subject:
            raise id_token_invalid("the UserInfo answer is about another subject")
        return info

    async def keys(self, endpoints: Endpoints) -> KeySet:
        status, jwks = await self._json("GET", endpoints.jwks_uri)
        if status != 200 or not isinstance(jwks, dict):
            raise sso_failed("The identity provider's signing keys could not be read.")
        try:
            return KeySet.import_key_set(jwks)  # type: ignore[arg-type]  # a JSON object
        except (JoseError, ValueError, TypeError, KeyError):
            raise sso_failed("The identity provider's signing keys could not be read.") from None

    @staticmethod
    def validate(
        id_token: str,
        keys: KeySet,
        *,
        endpoints: Endpoints,
        issuer: str,
        client_id: str,
        nonce: str,
        access_token: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        """The ID token's claims once its signature and claims hold (401
        ``sso_id_token_invalid`` otherwise)."""
        registry = JWSRegistry(algorithms=list(endpoints.algorithms))
        try:
            token = jwt.decode(id_token, keys, registry=registry)
        except (JoseError, ValueError, TypeError):
            raise id_token_invalid("its signature does not verify") from None
        params: dict[str, Any] = {"nonce": nonce, "client_id": client_id}
        if access_token:
            params["access_token"] = access_token
        claims = CodeIDToken(
            token.claims,
            token.header,
            {
                "iss": {"essential": True, "value": issuer},
                "aud": {"essential": True, "value": client_id},
            },
            params,
        )
        try:
            claims.validate(now=int(now.timestamp()), leeway=LEEWAY)
        except JoseError as exc:
            # "Invalid claim: 'nonce'", "Missing claim: 'aud'", "expired_token: …"
            raise id_token_invalid(exc.description or exc.error) from None
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise id_token_invalid("it names no subject")
        return dict(claims)


#: A logout token older than this is refused; its ``jti`` is remembered as long (replay).
LOGOUT_TOKEN_MAX_AGE = 600


def validate_logout_token(
    logout_token: str,
    keys: KeySet,
    *,
    endpoints: Endpoints,
    issuer: str,
    client_id: str,
    now: datetime,
) -> dict[str, Any]:
    """A back-channel logout token's claims once its signature (joserfc, the provider's
    keys and algorithms), ``iss``, ``aud``, ``iat`` (at most ``LOGOUT_TOKEN_MAX_AGE`` old)
    and ``jti`` hold (Back-Channel Logout 1.0, 2.6 steps 1-5); 400
    ``logout_token_invalid`` otherwise. What the token names is ``domain.sso``'s rule."""
    registry = JWSRegistry(algorithms=list(endpoints.algorithms))
    try:
        token = jwt.decode(logout_token, keys, registry=registry)
    except (JoseError, ValueError, TypeError):
        raise logout_token_invalid("its signature does not verify") from None
    at = int(now.timestamp())
    claims = jwt.JWTClaimsRegistry(
        now=at,
        leeway=LEEWAY,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        iat={"essential": True},
        jti={"essential": True},
    )
    try:
        claims.validate(token.claims)
    except JoseError as exc:
        raise logout_token_invalid(exc.description or exc.error) from None
    issued = token.claims["iat"]
    if not isinstance(issued, int) or not at - LOGOUT_TOKEN_MAX_AGE <= issued <= at + LEEWAY:
        raise logout_token_invalid("it was not issued in the last ten minutes")
    if not isinstance(token.claims["jti"], str):
        raise logout_token_invalid("its jti is not a string")
    return dict(token.claims)
