"""Brute-force protection: per-account, per-second-factor and per-IP counters in Redis.

Thresholds here (tests/integration/identity/conftest.py): 5 password failures, 3 second
factor failures, 8 failures per IP (module override below)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import create_app
from hub.kernel.settings import Settings
from tests.integration.identity.support import (
    API,
    PASSWORD,
    bearer,
    events,
    last_token,
    login,
    register,
    signed_in,
    signed_up,
    totp_code,
)
from tests.support import LiveServer, problem

WRONG = "definitely not it"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(ip_lockout_threshold=8)


def _same_refusal(a: httpx.Response, b: httpx.Response) -> None:
    """Status and body equal except the per-request id."""
    assert a.status_code == b.status_code == 401
    body_a, body_b = problem(a), problem(b)
    body_a.pop("requestId"), body_b.pop("requestId")
    assert body_a == body_b
    assert set(a.headers) - {"x-request-id", "content-length"} == set(b.headers) - {
        "x-request-id",
        "content-length",
    }


async def test_account_locks_after_threshold_and_answers_like_a_wrong_password(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    await signed_up(client, database_url, "alice@example.com")
    await signed_up(client, database_url, "bob@example.com")
    wrong = [await login(client, "alice@example.com", WRONG) for _ in range(5)]
    assert all(r.status_code == 401 for r in wrong)
    locked = await login(client, "alice@example.com", PASSWORD)
    _same_refusal(wrong[0], locked)
    assert problem(locked)["code"] == "invalid_credentials"
    # Another account from the same client is unaffected.
    assert (await login(client, "bob@example.com")).status_code == 200
    (lock,) = await events(database_url, "identity.login_locked")
    assert lock["scope"] == "account"
    assert lock["lockedSeconds"] == 60
    failures = await events(database_url, "identity.login_failed")
    assert [f["reason"] for f in failures] == ["invalid_password"] * 5


async def test_case_and_spaces_share_one_counter(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    await signed_up(client, database_url, "alice@example.com")
    for spelling in (
        "Alice@example.com",
        "alice@example.com",
        " alice@EXAMPLE.com",
        "ALICE@example.com ",
        "alice@example.com",
    ):
        assert (await login(client, spelling, WRONG)).status_code == 401
    r = await login(client, "alice@example.com", PASSWORD)
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_credentials"


async def test_unknown_accounts_lock_like_known_ones(client: AsyncTestClient[Litestar]) -> None:
    answers = [await login(client, "nobody@example.com", WRONG) for _ in range(6)]
    for r in answers[1:]:
        _same_refusal(answers[0], r)


async def test_totp_locks_after_threshold(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    tokens = await signed_in(client, database_url, "carol@example.com")
    headers = bearer(tokens["accessToken"])
    secret = (await client.post(f"{API}/auth/mfa/totp/setup", headers=headers)).json()["secret"]
    r = await client.post(
        f"{API}/auth/mfa/totp/confirm", json={"code": totp_code(secret)}, headers=headers
    )
    assert r.status_code == 200
    challenge = (await login(client, "carol@example.com")).json()["mfaToken"]
    good = totp_code(secret, steps=1)
    bad = "000000" if good != "000000" else "111111"
    for _ in range(3):
        r = await client.post(f"{API}/auth/mfa/verify", json={"mfaToken": challenge, "code": bad})
        assert r.status_code == 401
        assert problem(r)["code"] == "invalid_code"
    r = await client.post(f"{API}/auth/mfa/verify", json={"mfaToken": challenge, "code": good})
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_code"
    # Recovery codes share the second-factor counter: no way around the lock.
    r = await client.post(
        f"{API}/auth/mfa/verify", json={"mfaToken": challenge, "recoveryCode": "aaaaa-bbbbb"}
    )
    assert r.status_code == 401
    locks = await events(database_url, "identity.login_locked")
    assert [lock["scope"] for lock in locks] == ["mfa"]


@pytest.mark.e2e
async def test_parallel_burst_evaluates_at_most_the_threshold(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    await signed_up(live_client, database_url, "dave@example.com")
    burst = await asyncio.gather(
        *(login(live_client, "dave@example.com", WRONG) for _ in range(50))
    )
    assert {r.status_code for r in burst} == {401}
    assert {problem(r)["code"] for r in burst} == {"invalid_credentials"}
    evaluated = [
        f
        for f in await events(database_url, "identity.login_failed")
        if f["reason"] == "invalid_password"
    ]
    assert len(evaluated) == 5
    assert (await login(live_client, "dave@example.com", PASSWORD)).status_code == 401


async def test_forwarded_for_from_an_untrusted_client_changes_nothing(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    await signed_up(client, database_url, "erin@example.com")
    await signed_up(client, database_url, "frank@example.com")
    # One account, a new forged address each time: the account still locks.
    for i in range(5):
        r = await login(
            client, "erin@example.com", WRONG, headers={"X-Forwarded-For": f"198.51.100.{i}"}
        )
        assert r.status_code == 401
    r = await login(client, "erin@example.com", headers={"X-Forwarded-For": "198.51.100.99"})
    assert r.status_code == 401
    # Eight failures over unknown accounts (below their own threshold), forged addresses:
    # they all count against the real client address, which locks.
    for i in range(8 - 5):
        r = await login(
            client, f"ghost{i}@example.com", WRONG, headers={"X-Forwarded-For": f"203.0.113.{i}"}
        )
        assert r.status_code == 401
    r = await login(client, "frank@example.com", headers={"X-Forwarded-For": "192.0.2.77"})
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_credentials"
    scopes = [lock["scope"] for lock in await events(database_url, "identity.login_locked")]
    assert scopes == ["account", "ip"]
    assert await events(database_url, "identity.login_succeeded") == []


@pytest.fixture
def proxied(settings: Settings, clean_state: None) -> Iterator[LiveServer]:
    trusting = settings.replace(trusted_proxies=("127.0.0.1",))
    server = LiveServer(create_app(trusting, configure_logs=False))
    # As in production (--no-proxy-headers): the hub alone interprets X-Forwarded-For.
    server.server.config.proxy_headers = False
    with server:
        yield server


@pytest.mark.e2e
async def test_forwarded_for_from_a_trusted_proxy_names_the_client(
    proxied: LiveServer, database_url: str
) -> None:
    async with httpx.AsyncClient(base_url=proxied.url, timeout=10) as client:
        await signed_up(client, database_url, "gina@example.com")
        for i in range(8):
            hdr = {"X-Forwarded-For": f"6.6.6.6, 198.51.100.{i}"}
            assert (
                await login(client, f"ghost{i}@example.com", WRONG, headers=hdr)
            ).status_code == 401
        # Each failure was counted against its own client address, none reached 8.
        r = await login(client, "gina@example.com", headers={"X-Forwarded-For": "198.51.100.200"})
        assert r.status_code == 200
        me: dict[str, Any] = (
            await client.get(f"{API}/auth/sessions", headers=bearer(r.json()["accessToken"]))
        ).json()
        assert me["items"][0]["ip"] == "198.51.100.200"


async def test_guessing_emailed_tokens_locks_the_client_address(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    r = await register(client, "henry@example.com")
    assert r.status_code == 202
    token = await last_token(database_url, "henry@example.com", "Confirm your e-mail")
    for i in range(8):
        guess = {"token": f"hub_et_guess{i}"}
        assert (await client.post(f"{API}/auth/verify-email", json=guess)).status_code == 422
        reset = {"token": f"hub_et_guess{i}", "newPassword": "whatever it is 123"}
        if i < 2:
            assert (await client.post(f"{API}/auth/password/reset", json=reset)).status_code == 422
    # The real token is now refused like a bad one, until the lock runs out.
    r = await client.post(f"{API}/auth/verify-email", json={"token": token})
    assert r.status_code == 422
    assert problem(r)["code"] == "invalid_token"
    assert [lock["scope"] for lock in await events(database_url, "identity.login_locked")] == ["ip"]
