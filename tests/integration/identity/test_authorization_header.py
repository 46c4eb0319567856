"""``Authorization`` is parsed once, strictly, at the boundary — and "person or key" is
decided from the resolved principal. Through a real uvicorn server, because the attack
depends on which bytes the HTTP parser lets through (both uvicorn parsers pass NBSP and
NEL in header values; Python's ``str.strip`` removes them)."""

from __future__ import annotations

import httpx
import pytest

from hub.app import create_app
from hub.kernel.settings import Settings
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import api_key, create_org, person
from tests.support import LiveServer


@pytest.fixture
async def owner_and_key(
    live_client: httpx.AsyncClient, database_url: str
) -> tuple[dict[str, str], str]:
    owner = await person(live_client, database_url, "owner@example.com")
    await create_org(live_client, owner)
    created = await api_key(live_client, owner, ["identity.org.read"])
    return owner.auth, created["key"]


ODD_FORMS = [
    b"\xa0ApiKey {key}",  # NBSP before the scheme: stripped by str.strip()
    b"\x85ApiKey {key}",  # NEL, likewise
    b"ApiKey\xa0{key}",
    b"ApiKey  {key}",  # two spaces
    b"ApiKey\t{key}",
    b"ApiKey {key}\xa0",
    b"ApiKey {key} extra",
]


@pytest.mark.parametrize("parser", ["h11", "httptools"])
async def test_odd_whitespace_around_a_key_is_refused_not_mistaken_for_a_person(
    parser: str, settings: Settings, database_url: str, clean_state: None
) -> None:
    """Behind each of uvicorn's HTTP parsers (both pass NBSP and NEL through)."""
    with LiveServer(create_app(settings, configure_logs=False), http=parser) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            owner = await person(client, database_url, "owner@example.com")
            await create_org(client, owner)
            key = (await api_key(client, owner, ["identity.org.read"]))["key"]
            for raw in ODD_FORMS:
                header = raw.replace(b"{key}", key.encode())
                for method, path in (
                    ("GET", "/auth/sessions"),  # people only: a key must never list sessions
                    ("POST", "/auth/mfa/totp/setup"),  # nor enrol a second factor
                    ("GET", "/auth/me"),
                ):
                    r = await client.request(
                        method, f"{API}{path}", headers=[(b"authorization", header)]
                    )
                    assert r.status_code == 401, (raw, path, r.text)
                    assert r.headers["content-type"].startswith("application/problem+json")
                    assert r.json()["code"] == "malformed_credentials"
            # the owner's session is untouched: still exactly one
            r = await client.get(f"{API}/auth/sessions", headers=owner.auth)
            assert r.status_code == 200
            assert len(r.json()["items"]) == 1


async def test_a_well_formed_key_is_still_refused_on_people_only_routes(
    live_client: httpx.AsyncClient, owner_and_key: tuple[dict[str, str], str]
) -> None:
    owner, key = owner_and_key
    for form in ({"Authorization": f"ApiKey {key}"}, {"X-API-Key": key}):
        r = await live_client.get(f"{API}/auth/sessions", headers=form)
        assert r.status_code == 403
        assert r.json()["code"] == "session_required"
        r = await live_client.post(f"{API}/auth/mfa/totp/setup", headers=form)
        assert r.status_code == 403
    # the owner's session still works and lists exactly one session
    r = await live_client.get(f"{API}/auth/sessions", headers=owner)
    assert r.status_code == 200
    assert len(r.json()["items"]) == 1


async def test_repeated_or_empty_credentials_are_refused(
    live_client: httpx.AsyncClient, owner_and_key: tuple[dict[str, str], str]
) -> None:
    owner, key = owner_and_key
    twice = [(b"authorization", owner["Authorization"].encode())] * 2
    r = await live_client.get(f"{API}/auth/me", headers=twice)
    assert r.status_code == 401
    assert r.json()["code"] == "malformed_credentials"
    for header in ((b"authorization", b"Bearer"), (b"x-api-key", key.encode() + b"\xa0")):
        r = await live_client.get(f"{API}/orgs", headers=[header])
        assert r.status_code == 401, header


async def test_the_profile_of_an_api_key_is_the_people_only_answer(
    live_client: httpx.AsyncClient, owner_and_key: tuple[dict[str, str], str]
) -> None:
    _, key = owner_and_key
    r = await live_client.get(f"{API}/auth/me", headers={"Authorization": f"ApiKey {key}"})
    assert r.status_code == 403
    assert r.json()["code"] == "session_required"
