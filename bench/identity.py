"""Credentials for the identity scenarios: bench accounts, access tokens, refresh chains.

Set up once per run, before the first round (:meth:`IdentityBench.setup`): the bench
accounts are created with ``hub users create`` (:mod:`bench.accounts`), then the hub is
started once to sign in, fetch its JWKS and mint what the reference apps need — they never
sign in themselves, they get the hub's own tokens:

* an access token for ``/auth/me`` and its reference (re-minted on the live hub every
  round; the reference re-uses the newest, and a short-lived hub is started to mint a
  new one should it come close to expiry);
* an organisation the first account owns, for the permission-checked read
  (``GET /api/v1/orgs/{id}``, permission ``identity.org.read``) and its reference;
* one refresh-token chain per connection for ``hub-refresh`` and another for
  ``refresh-ref``. Each request presents the token the previous answer on the same
  connection returned (true rotation); the chains carry on across warm-ups and rounds,
  so a token is never presented twice (that would trip reuse detection).

The reference apps read the hub's JWKS, issuer and audience from ``BENCH_JWKS``,
``BENCH_JWT_ISSUER`` and ``BENCH_JWT_AUDIENCE``, which the setup adds to their environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any

import jwt

from bench import accounts
from bench.load import Request
from bench.servers import ROOT, Server, Setup

API = "/api/v1/auth"
JSON = {"Content-Type": "application/json"}


def _login_body(index: int) -> bytes:
    return json.dumps({"email": accounts.email(index), "password": accounts.PASSWORD}).encode()


def _json(status: int, body: bytes, what: str) -> dict[str, Any]:
    if status != 200:
        raise SystemExit(f"{what} answered {status}: {body[:300]!r}")
    data: dict[str, Any] = json.loads(body)
    return data


def login(server: Server, index: int = 0) -> dict[str, Any]:
    status, body = server.request("POST", f"{API}/login", _login_body(index), JSON)
    data = _json(status, body, f"POST {API}/login")
    if data.get("status") != "authenticated":
        raise SystemExit(f"the bench account did not sign in: {data}")
    return data


@dataclass
class RefreshChain:
    """One refresh token per connection; every answer hands over the next one."""

    tokens: list[str]
    broken: int = 0

    def body(self, slot: int) -> bytes:
        return b'{"refreshToken":"%s"}' % self.tokens[slot].encode()

    def answered(self, slot: int, status: int, body: bytes) -> None:
        # A plain search: cheaper than parsing, and the load client shares the CPU.
        start = body.find(b'"refreshToken":"')
        if status != 200 or start < 0:
            self.broken += 1  # this slot keeps its token (counted as an error by the client)
            return
        start += 16
        self.tokens[slot] = body[start : body.index(b'"', start)].decode()


@dataclass
class IdentityBench:
    connections: int = 16
    window_s: float = 10.0
    token: str = ""
    ref_env: dict[str, str] = field(default_factory=dict)
    hub_chain: RefreshChain = field(default_factory=lambda: RefreshChain([]))
    ref_chain: RefreshChain = field(default_factory=lambda: RefreshChain([]))
    #: The organisation the first bench account owns (permission-checked reads).
    org_id: str = ""
    _setup: Setup | None = None

    def setup(self, ctx: Setup) -> None:
        self._setup = ctx
        self.connections = ctx.connections
        self.window_s = ctx.window_s
        made = subprocess.run(
            [sys.executable, "-m", "bench.accounts", str(self.connections)],
            cwd=ROOT,
            env=dict(ctx.hub_env),
            capture_output=True,
            text=True,
        )
        if made.returncode != 0:
            raise SystemExit(f"creating the bench accounts failed:\n{made.stderr[-2000:]}")
        with ctx.server("hub") as hub:
            self.token = login(hub)["accessToken"]
            status, jwks = hub.get("/.well-known/jwks.json")
            _json(status, jwks, "GET /.well-known/jwks.json")
            claims = jwt.decode(self.token, options={"verify_signature": False})
            self.ref_env = {
                "BENCH_JWKS": jwks.decode(),
                "BENCH_JWT_ISSUER": claims["iss"],
                "BENCH_JWT_AUDIENCE": claims["aud"],
            }
            status, made_org = hub.request(
                "POST",
                "/api/v1/orgs",
                b'{"name":"Bench practice"}',
                {**JSON, "Authorization": f"Bearer {self.token}"},
            )
            if status != 201:
                raise SystemExit(f"POST /api/v1/orgs answered {status}: {made_org[:300]!r}")
            self.org_id = json.loads(made_org)["id"]
            n = self.connections
            self.hub_chain = RefreshChain([login(hub)["refreshToken"] for _ in range(n)])
            self.ref_chain = RefreshChain([login(hub)["refreshToken"] for _ in range(n)])
        ctx.base_env.update(self.ref_env)

    def _bearer(self) -> Request:
        return Request(headers={"Authorization": f"Bearer {self.token}"})

    # prepare hooks: each runs against the live server before a scenario's warm-up.

    def auth_me(self, hub: Server) -> Request:
        self.token = login(hub)["accessToken"]
        return self._bearer()

    def auth_me_reference(self, _: Server) -> Request:
        exp = jwt.decode(self.token, options={"verify_signature": False})["exp"]
        if exp - time.time() < self.window_s + 60:
            assert self._setup is not None
            with self._setup.server("hub") as hub:
                self.token = login(hub)["accessToken"]
        return self._bearer()

    def org_read(self, hub: Server) -> Request:
        self.token = login(hub)["accessToken"]
        return replace(self._bearer(), path=f"/api/v1/orgs/{self.org_id}")

    def org_read_reference(self, server: Server) -> Request:
        return replace(self.auth_me_reference(server), path=f"/orgs/{self.org_id}")

    def login(self, _: Server) -> Request:
        # One account per connection: see bench.accounts for why not one account.
        bodies = tuple(_login_body(i) for i in range(self.connections))
        return Request(method="POST", headers=JSON, bodies=bodies)

    def refresh(self, _: Server) -> Request:
        return Request(method="POST", headers=JSON, chain=self.hub_chain)

    def refresh_reference(self, _: Server) -> Request:
        return Request(method="POST", headers=JSON, chain=self.ref_chain)


#: The run's one instance (scenarios name its methods as their hooks).
IDENTITY = IdentityBench()
