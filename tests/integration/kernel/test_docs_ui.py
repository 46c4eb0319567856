"""The API docs page works where the hub runs: no CDN, no network, a strict CSP.

A headless Chromium that cannot resolve any host name (so nothing beyond the test's
loopback server is reachable) opens ``/api/docs`` from a real uvicorn; the page must render
the operations of the OpenAPI document from the hub's own bundle, request nothing from
another origin and trip no content security policy.
"""

from __future__ import annotations

import base64
import hashlib

import httpx

from hub.app import create_app
from hub.kernel.docs import BUNDLE, SCALAR_VERSION
from hub.kernel.settings import Settings
from tests.browser import Browser, chromium_or_skip
from tests.support import LiveServer


async def test_the_docs_page_renders_offline_under_its_csp(
    settings: Settings, clean_state: None
) -> None:
    binary = chromium_or_skip()
    app = create_app(settings, configure_logs=False)
    with LiveServer(app) as server:
        async with Browser(binary, offline=True) as page:
            await page.goto(f"{server.url}/api/docs")
            # The document's tags in the sidebar, its first operations rendered…
            await page.wait_for(
                "document.body.innerText.includes('Identity: organisations')"
                " && document.body.innerText.includes('Readiness: database, Redis')",
                timeout=30,
            )
            # …and a group opened on demand shows its operations' summaries.
            await page.evaluate(
                "[...document.querySelectorAll('button')]"
                ".find(b => b.innerText.includes('Open Group - Identity: organisations'))"
                ".click()"
            )
            await page.wait_for(
                "document.body.innerText.includes('The organisations the caller belongs to')"
            )
    foreign = [url for url in page.requests if not url.startswith((server.url, "data:"))]
    assert foreign == [], foreign
    assert f"{server.url}/api/docs/assets/{BUNDLE}" in page.requests
    violations = [line for line in page.log if "Content Security Policy" in line]
    assert violations == [], violations


async def test_the_page_and_its_bundle(settings: Settings, clean_state: None) -> None:
    """No CDN address anywhere in the page; the bundle pinned, checked and long-cached."""
    app = create_app(settings, configure_logs=False)
    with LiveServer(app) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            page = await http.get("/api/docs")
            bundle = await http.get(f"/api/docs/assets/{BUNDLE}")
            other = await http.get("/api/docs/assets/other.js")
    assert page.status_code == 200
    assert "cdn." not in page.text
    assert "https://" not in page.text
    assert "<script>" not in page.text  # no inline script: the CSP allows none
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "https:" not in csp
    assert "unsafe-eval" not in csp
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert "immutable" in bundle.headers["cache-control"]
    digest = base64.b64encode(hashlib.sha384(bundle.content).digest()).decode()
    assert f'integrity="sha384-{digest}"' in page.text
    assert SCALAR_VERSION in BUNDLE
    assert other.status_code == 404
