"""A real OpenID Connect provider for the single sign-on tests: IdentityPython's ``pyop``
(an OP library: discovery, authorization code flow with PKCE, signed ID tokens, client
authentication) served over HTTP by a small Litestar app on a loopback port
(:class:`tests.support.LiveServer`).

The person "signed in at the provider" is :attr:`LocalProvider.user` (its claims in
:attr:`LocalProvider.people`): the authorization endpoint answers for them at once, as a
provider with a live session does. Two test hooks make the provider misbehave the way an
attacker would need it to: :attr:`forge_with` re-signs the ID token with another key
(same ``kid``), :attr:`nonce_override` puts another nonce in it. A provider that keeps the
e-mail claims out of its ID tokens (many do, ignoring the ``claims`` parameter) is
:attr:`ignores_claims_parameter`; its UserInfo endpoint answers them, and
:attr:`userinfo_subject` makes that answer claim another subject.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

from Cryptodome.PublicKey import RSA
from jwkest.jwk import RSAKey
from jwkest.jws import JWS
from litestar import Litestar, Request, Response, get, post
from litestar.response import Redirect
from oic.oic.message import EndSessionRequest
from pyop.authz_state import AuthorizationState
from pyop.exceptions import InvalidAuthenticationRequest, OAuthError
from pyop.provider import Provider
from pyop.subject_identifier import HashBasedSubjectIdentifierFactory
from pyop.userinfo import Userinfo

from tests.support import LiveServer, free_port

KID = "op-key-1"


def rsa_key() -> RSAKey:
    return RSAKey(key=RSA.generate(2048), alg="RS256", kid=KID)


class LocalProvider:
    def __init__(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.key = rsa_key()
        self.people: dict[str, dict[str, Any]] = {}
        self.user = ""
        self.forge_with: RSAKey | None = None
        self.nonce_override: str | None = None
        self.ignores_claims_parameter = False
        self.userinfo_subject: str | None = None
        #: The Authorization headers the UserInfo endpoint was sent.
        self.userinfo_requests: list[str] = []
        #: The DNS zone of the organisation that runs this provider (tests.support.dns_zone).
        self.zone: Any = None
        #: Provider sessions: an ID token of a user named here carries this ``sid``.
        self.sid_of: dict[str, str] = {}
        #: What the token endpoint was sent (to check PKCE and client authentication).
        self.token_requests: list[dict[str, str]] = []
        #: What the end-session endpoint was sent (RP-initiated logout), as parsed.
        self.end_session_requests: list[dict[str, str]] = []
        #: Whether discovery publishes ``end_session_endpoint``.
        self.publishes_end_session = True
        # pyop checks at construction that the issuer is https; this one serves plain
        # http on loopback, so it is built with https URLs that are then replaced.
        self.provider = Provider(
            self.key,
            {
                "issuer": "https://op.invalid",
                "authorization_endpoint": "https://op.invalid/authorize",
                "token_endpoint": "https://op.invalid/token",
                "jwks_uri": "https://op.invalid/jwks",
                "userinfo_endpoint": "https://op.invalid/userinfo",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "scopes_supported": ["openid", "email", "profile"],
                "claims_parameter_supported": True,
                "code_challenge_methods_supported": ["S256"],
            },
            AuthorizationState(HashBasedSubjectIdentifierFactory("test-salt")),
            {
                client_id: {
                    "client_secret": client_secret,
                    "redirect_uris": [redirect_uri],
                    "response_types": ["code"],
                    "token_endpoint_auth_method": "client_secret_basic",
                }
            },
            Userinfo(self.people),
        )
        config = self.provider.configuration_information
        config["issuer"] = self.issuer
        for name, path in (
            ("authorization_endpoint", "authorize"),
            ("token_endpoint", "token"),
            ("jwks_uri", "jwks"),
            ("userinfo_endpoint", "userinfo"),
            ("end_session_endpoint", "end-session"),
        ):
            config[name] = f"{self.issuer}/{path}"
        self.server = LiveServer(self.app(), self.port)

    def allow_post_logout(self, uri: str) -> None:
        """Register ``uri`` as the client's post-logout redirect URI."""
        self.provider.clients[self.client_id]["post_logout_redirect_uris"] = [uri]

    def person(
        self, user: str, email: str, *, verified: bool = True, name: str = "Pat Doe"
    ) -> None:
        """Add someone to the provider's directory and make them the one signed in."""
        self.people[user] = {"email": email, "email_verified": verified, "name": name}
        self.user = user

    def __enter__(self) -> LocalProvider:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.__exit__(*exc)

    def _forged(self, id_token: str) -> str:
        assert self.forge_with is not None
        return self._resigned(id_token, self.forge_with)

    def _resigned(self, id_token: str, key: RSAKey, **extra: Any) -> str:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        signed: str = JWS(json.dumps(claims | extra), alg="RS256").sign_compact([key])
        return signed

    def logout_token(self, *, key: RSAKey | None = None, **claims: Any) -> str:
        """A back-channel logout token as this provider signs one (OIDC Back-Channel
        Logout 1.0, 2.4); ``claims`` override or add to the defaults (None removes)."""
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": int(time.time()),
            "jti": secrets.token_urlsafe(16),
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        } | claims
        body = {k: v for k, v in body.items() if v is not None}
        signed: str = JWS(json.dumps(body), alg="RS256").sign_compact([key or self.key])
        return signed

    def app(self) -> Litestar:
        op = self

        @get("/.well-known/openid-configuration", sync_to_thread=False)
        def configuration() -> dict[str, Any]:
            config: dict[str, Any] = op.provider.provider_configuration.to_dict()
            if not op.publishes_end_session:
                config.pop("end_session_endpoint", None)
            return config

        @get("/jwks", sync_to_thread=False)
        def jwks() -> dict[str, Any]:
            keys: dict[str, Any] = op.provider.jwks
            return keys

        @get("/authorize", sync_to_thread=False)
        def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
            try:
                auth_req = op.provider.parse_authentication_request(
                    request.scope["query_string"].decode()
                )
            except InvalidAuthenticationRequest as exc:
                return Response({"error": exc.oauth_error, "detail": str(exc)}, status_code=400)
            if op.nonce_override is not None:
                auth_req["nonce"] = op.nonce_override
            if op.ignores_claims_parameter:
                auth_req.pop("claims", None)
            answer = op.provider.authorize(auth_req, op.user)
            return Redirect(path=answer.request(auth_req["redirect_uri"]), status_code=302)

        @post("/token", status_code=200)
        async def token(request: Request[Any, Any, Any]) -> Response[Any]:
            body = (await request.body()).decode()
            op.token_requests.append(dict(parse_qsl(body)))
            try:
                answer = op.provider.handle_token_request(
                    body, {"Authorization": request.headers.get("authorization", "")}
                )
            except OAuthError as exc:
                return Response({"error": exc.oauth_error, "detail": str(exc)}, status_code=400)
            result: dict[str, Any] = answer.to_dict()
            if op.forge_with is not None:
                result["id_token"] = op._forged(result["id_token"])
            elif op.user in op.sid_of:
                result["id_token"] = op._resigned(
                    result["id_token"], op.key, sid=op.sid_of[op.user]
                )
            return Response(result, headers={"Cache-Control": "no-store"})

        @get("/userinfo", sync_to_thread=False)
        def userinfo(request: Request[Any, Any, Any]) -> Response[Any]:
            authorization = request.headers.get("authorization", "")
            op.userinfo_requests.append(authorization)
            try:
                answer = op.provider.handle_userinfo_request(None, {"Authorization": authorization})
            except OAuthError as exc:
                return Response({"error": "invalid_token", "detail": str(exc)}, status_code=401)
            claims: dict[str, Any] = answer.to_dict()
            if op.userinfo_subject is not None:
                claims["sub"] = op.userinfo_subject
            return Response(claims)

        @get("/end-session", sync_to_thread=False)
        def end_session(request: Request[Any, Any, Any]) -> Response[Any]:
            """pyop ends the subject's session (read from a valid ``id_token_hint``) and
            sends the browser on only to a registered post-logout URI."""
            query = request.scope["query_string"].decode()
            op.end_session_requests.append(dict(parse_qsl(query)))
            ask = EndSessionRequest().from_urlencoded(query)
            try:
                op.provider.logout_user(end_session_request=ask)
                back = op.provider.do_post_logout_redirect(ask)
            except Exception as exc:  # a hint pyop cannot verify
                return Response({"error": "invalid_request", "detail": str(exc)}, status_code=400)
            if back is None:
                return Response({"signedOut": True}, status_code=200)
            return Redirect(path=back, status_code=302)

        return Litestar([configuration, jwks, authorize, token, userinfo, end_session], debug=False)
