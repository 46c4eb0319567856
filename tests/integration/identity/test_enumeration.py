"""Login, register and forgot-password tell nothing about which addresses have accounts:
same status, same body, comparable time (medians over interleaved repetitions, with the
real argon2 cost, so a skipped hash would stand out by ~40 ms)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest

from hub.kernel.settings import Settings
from tests.integration.identity.support import (
    API,
    PASSWORD,
    fetch,
    login,
    production_hashing,
    queued_mail,
    register,
    signed_up,
)
from tests.support import problem

pytestmark = pytest.mark.e2e
REPEATS = 9


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    # Real argon2 parameters (t=2, m=19 MiB); thresholds out of the way of the repetitions.
    return production_hashing(base_settings).replace(
        lockout_threshold=1000, ip_lockout_threshold=1000
    )


def _without_request_id(response: httpx.Response) -> dict[str, object]:
    body = problem(response) if response.status_code >= 400 else dict(response.json())
    body.pop("requestId", None)
    return body


async def _medians(
    a: Callable[[int], Awaitable[httpx.Response]], b: Callable[[int], Awaitable[httpx.Response]]
) -> tuple[float, float]:
    times_a: list[float] = []
    times_b: list[float] = []
    for i in range(REPEATS):  # interleaved, so drift on a shared machine hits both alike
        for fn, times in ((a, times_a), (b, times_b)):
            started = time.perf_counter()
            await fn(i)
            times.append(time.perf_counter() - started)
    return statistics.median(times_a), statistics.median(times_b)


def _comparable(x: float, y: float, *, floor: float = 0.005) -> None:
    gap = abs(x - y)
    assert gap <= max(floor, 0.5 * max(x, y)), (x, y)


async def test_login_unknown_and_known_accounts_answer_alike(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    await signed_up(live_client, database_url, "known@example.com")
    unknown = await login(live_client, "unknown@example.com", "wrong password here")
    known = await login(live_client, "known@example.com", "wrong password here")
    assert unknown.status_code == known.status_code == 401
    assert _without_request_id(unknown) == _without_request_id(known)

    known_t, unknown_t = await _medians(
        lambda i: login(live_client, "known@example.com", f"wrong password {i}"),
        lambda i: login(live_client, f"unknown{i}@example.com", f"wrong password {i}"),
    )
    # The real argon2 cost is being paid (read from the stored hash, not from a clock).
    [row] = await fetch(
        database_url, "SELECT password_hash FROM identity.users WHERE email = 'known@example.com'"
    )
    assert row["password_hash"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    _comparable(known_t, unknown_t)


async def test_register_new_and_taken_addresses_answer_alike(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    await signed_up(live_client, database_url, "taken@example.com")
    new = await register(live_client, "fresh@example.com")
    taken = await register(live_client, "TAKEN@example.com")
    assert new.status_code == taken.status_code == 202
    assert new.json() == taken.json()
    # The owner of the taken address hears about it (with a reset link), nobody else does.
    mails = await queued_mail(database_url, "taken@example.com")
    assert [m["subject"] for m in mails][-1] == "You already have a Hub account"

    new_t, taken_t = await _medians(
        lambda i: register(live_client, f"fresh{i}@example.com"),
        lambda i: register(live_client, "taken@example.com"),
    )
    _comparable(new_t, taken_t)


async def test_forgot_password_answers_alike(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    await signed_up(live_client, database_url, "member@example.com")

    async def forgot(email: str) -> httpx.Response:
        return await live_client.post(f"{API}/auth/password/forgot", json={"email": email})

    known = await forgot("member@example.com")
    unknown = await forgot("stranger@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    known_t, unknown_t = await _medians(
        lambda i: forgot("member@example.com"), lambda i: forgot(f"stranger{i}@example.com")
    )
    _comparable(known_t, unknown_t)
    assert (await login(live_client, "member@example.com", PASSWORD)).status_code == 200
