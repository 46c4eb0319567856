"""The links in identity's mails open pages that exist: the frontend's (HUB_FRONTEND_URL) or,
by default, the hub's own minimal pages at the site root, which POST the token to the API.

The end-to-end tests run a real server whose HUB_PUBLIC_URL is its own address, read the
link from the development mailbox and follow it, once the way the page's script does
(httpx) and once in headless Chromium when one is installed."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import create_app
from hub.kernel.mail import Mailbox
from hub.kernel.settings import Settings
from tests.browser import Browser, chromium_or_skip
from tests.integration.identity.support import (
    API,
    PASSWORD,
    bearer,
    login,
    queued_mail,
    register,
)
from tests.integration.identity.support_orgs import create_org, person
from tests.support import LiveServer, free_port, problem

#: Each page and the form its script drives.
FORMS = {"verify-email": "verify", "reset-password": "reset", "accept-invitation": "signin"}


def mail_link(mail: dict[str, Any]) -> str:
    found = re.search(r"https?://\S+", mail["text"])
    assert found, mail["text"]
    return found.group(0)


async def mailed_links(client: Any, database_url: str) -> dict[str, str]:
    """One link of each kind identity mails: verification, reset, invitation."""
    assert (await register(client, "new@example.com")).status_code == 202
    assert (await register(client, "new@example.com")).status_code == 202  # taken: reset link
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    r = await client.post(
        f"{API}/orgs/{org}/invitations", json={"email": "bob@example.com"}, headers=owner.auth
    )
    assert r.status_code == 201
    verify, exists = await queued_mail(database_url, "new@example.com")
    (invitation,) = await queued_mail(database_url, "bob@example.com")
    return {
        "verify-email": mail_link(verify),
        "reset-password": mail_link(exists),
        "accept-invitation": mail_link(invitation),
    }


def csp_sources(csp: str, directive: str) -> set[str]:
    for part in csp.split(";"):
        name, *values = part.split()
        if name == directive:
            return set(values)
    return set()


def source_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def assert_page(response: httpx.Response) -> str:
    """A 200 HTML page whose inline script and style, and nothing else, its CSP allows."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    csp = response.headers["content-security-policy"]
    assert response.headers.get_list("content-security-policy") == [csp]
    html = response.text
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.S)
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert csp_sources(csp, "default-src") == {"'none'"}
    assert csp_sources(csp, "script-src") == {source_hash(script)}
    assert csp_sources(csp, "style-src") == {source_hash(style)}
    assert csp_sources(csp, "connect-src") == {"'self'"}
    assert csp_sources(csp, "form-action") == {"'none'"}
    assert not re.search(r"\b(src|href)=", html), "the page loads nothing else"
    return html


async def test_links_open_the_hubs_own_pages_by_default(
    client: AsyncTestClient[Litestar], database_url: str, settings: Settings
) -> None:
    links = await mailed_links(client, database_url)
    assert set(links) == set(FORMS)
    for page, link in links.items():
        assert link.startswith(f"{settings.public_url}/{page}?token=hub_"), link
        parts = urlsplit(link)
        html = assert_page(await client.get(f"{parts.path}?{parts.query}"))
        assert f'<form id="{FORMS[page]}" method="post"' in html
    # The API keeps its own strict policy.
    r = await client.get(f"{API}/permissions")
    assert r.headers["content-security-policy"].startswith("default-src 'none'")


async def test_links_point_at_the_frontend_when_one_is_set(
    settings: Settings, clean_state: None, database_url: str
) -> None:
    frontend = msgspec.structs.replace(settings, frontend_url="https://app.example.com/hub/")
    async with AsyncTestClient(
        app=create_app(frontend, configure_logs=False), base_url="http://testserver.local"
    ) as client:
        links = await mailed_links(client, database_url)
        for page, link in links.items():
            assert link.startswith(f"https://app.example.com/hub/{page}?token=hub_"), link
            # The frontend serves them: the hub's own pages are gone.
            r = await client.get(f"/{page}?{urlsplit(link).query}")
            assert r.status_code == 404
            assert problem(r)["code"] == "not_found"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(settings: Settings, port: int) -> Settings:
    """HUB_PUBLIC_URL is the live server's own address, so mailed links work verbatim (the
    worker of ``events`` and the ``mailbox`` read the same settings)."""
    return msgspec.structs.replace(settings, public_url=f"http://127.0.0.1:{port}")


@pytest.fixture
async def live(
    settings: Settings, port: int, clean_state: None
) -> AsyncIterator[httpx.AsyncClient]:
    with LiveServer(create_app(settings, configure_logs=False), port=port) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            yield http


async def test_the_verify_page_flow_end_to_end(
    live: httpx.AsyncClient, events: Any, mailbox: Mailbox
) -> None:
    assert (await register(live, "late@example.com")).status_code == 202
    await events.drain()
    (mail,) = mailbox.list(to="late@example.com")
    (link,) = mail.links()
    assert link.startswith(str(live.base_url).rstrip("/") + "/verify-email?token=hub_et_")
    page = await live.get(link)
    script = re.findall(r"<script>(.*?)</script>", assert_page(page), re.S)[0]
    # What the script does: read ?token= and POST it to api/v1/auth/verify-email beside it.
    assert 'new URL("api/v1/", location.href)' in script
    assert 'call("auth/verify-email", { token: token })' in script
    token = dict(p.split("=", 1) for p in urlsplit(link).query.split("&"))["token"]
    assert (await login(live, "late@example.com")).status_code == 403  # not verified yet
    r = await live.post(urljoin(link, "api/v1/auth/verify-email"), json={"token": token})
    assert r.status_code == 200, r.text
    r = await login(live, "late@example.com")
    assert r.status_code == 200
    assert r.json()["status"] == "authenticated"


@pytest.fixture
def chromium() -> str:
    """The Chromium binary; the test is skipped (before any server starts) without one."""
    return chromium_or_skip()


async def test_the_pages_work_in_a_browser(
    chromium: str, live: httpx.AsyncClient, events: Any, mailbox: Mailbox, database_url: str
) -> None:
    assert (await register(live, "late@example.com")).status_code == 202
    owner = await person(live, database_url, "owner@example.com")
    org = (await create_org(live, owner, "Acme"))["id"]
    r = await live.post(
        f"{API}/orgs/{org}/invitations",
        json={"email": "late@example.com", "roles": ["auditor"]},
        headers=owner.auth,
    )
    assert r.status_code == 201
    await live.post(f"{API}/auth/password/forgot", json={"email": "owner@example.com"})
    await events.drain()

    def link_about(to: str, subject: str) -> str:
        (mail,) = [m for m in mailbox.list(to=to) if subject in m.subject]
        (link,) = mail.links()
        return link

    async with Browser(chromium) as browser:
        # Verify: one click confirms the address.
        await browser.goto(link_about("late@example.com", "Confirm your e-mail"))
        assert await browser.evaluate("location.search") == ""  # token out of the address bar
        await browser.submit("verify")
        assert await browser.status_text() == "Your address is confirmed. You can sign in now."

        # Accept the invitation: sign in on the page, then join.
        await browser.goto(link_about("late@example.com", "invited you"))
        await browser.fill("#signin [name=email]", "late@example.com")
        await browser.fill("#signin [name=password]", PASSWORD)
        await browser.submit("signin")
        assert await browser.status_text() == "You joined Acme as auditor."

        # Reset: a new password, then sign in with it.
        await browser.goto(link_about("owner@example.com", "Reset your Hub password"))
        await browser.fill("#reset [name=password]", "a brand new secret")
        await browser.fill("#reset [name=confirm]", "a brand new secret")
        await browser.submit("reset")
        assert (await browser.status_text()).startswith("Your password was changed")
        assert not [line for line in browser.log if "Content Security Policy" in line], browser.log

    r = await login(live, "late@example.com")
    assert r.status_code == 200
    orgs = await live.get(f"{API}/orgs", headers=bearer(r.json()["accessToken"]))
    assert [o["name"] for o in orgs.json()["items"]] == ["Acme"]
    assert (await login(live, "owner@example.com", "a brand new secret")).status_code == 200
