"""Headless Chromium driven over the DevTools protocol, for the tests of the hub's HTML pages.

No browser automation package is needed: Chromium's remote-debugging WebSocket and the
``websockets`` client that uvicorn already depends on are enough. When no Chromium is
installed (``apt-get install -y chromium`` on Debian), :func:`chromium_or_skip` skips the
test; ``HUB_TEST_CHROMIUM`` names a binary explicitly.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_or_skip() -> str:
    explicit = os.environ.get("HUB_TEST_CHROMIUM")
    found = explicit or next((p for p in map(shutil.which, _NAMES) if p), None)
    if not found:
        pytest.skip("no Chromium installed (apt-get install -y chromium)")
    return found


class BrowserError(AssertionError):
    """A script failed in the page, or the page never reached the awaited state."""


class Browser:
    """One headless Chromium with one page; ``async with Browser(path) as page: ...``."""

    def __init__(self, binary: str, *, offline: bool = False) -> None:
        """``offline``: no host name resolves, so the page reaches only IP addresses (the
        test's loopback server) as on a machine with no network beyond the hub."""
        self.binary = binary
        self.offline = offline
        #: Every URL the page requested, in order (``Network.requestWillBeSent``).
        self.requests: list[str] = []
        self.profile = Path(tempfile.mkdtemp(prefix="hub-chromium-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.ws: ClientConnection | None = None
        self.ids = itertools.count(1)
        #: Console messages and browser log entries (CSP violations land here).
        self.log: list[str] = []

    async def __aenter__(self) -> Browser:
        args = [
            self.binary,
            "--headless=new",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            f"--user-data-dir={self.profile}",
            "--remote-debugging-port=0",
            "--window-size=1280,900",  # a desktop layout (sidebars shown)
            "about:blank",
        ]
        if self.offline:
            args[1:1] = [
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--disable-background-networking",
            ]
        if os.geteuid() == 0:  # Chromium refuses to run as root with its sandbox
            args.insert(1, "--no-sandbox")
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise BrowserError("Chromium did not start")
            await asyncio.sleep(0.05)
        port = int(port_file.read_text().split("\n", 1)[0])
        async with httpx.AsyncClient() as http:
            targets = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
        (page,) = [t for t in targets if t["type"] == "page"]
        self.ws = await connect(page["webSocketDebuggerUrl"], max_size=None)
        for domain in ("Page", "Runtime", "Log", "Network"):
            await self.send(f"{domain}.enable")
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.process is not None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait)
        shutil.rmtree(self.profile, ignore_errors=True)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        assert self.ws is not None
        call_id = next(self.ids)
        await self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), 30))
            if message.get("id") == call_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self._event(message)

    def _event(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Log.entryAdded":
            entry = params["entry"]
            self.log.append(f"{entry['level']}: {entry['text']}")
        elif method == "Runtime.consoleAPICalled":
            texts = [str(a.get("value", a.get("description", ""))) for a in params["args"]]
            self.log.append(f"console.{params['type']}: {' '.join(texts)}")
        elif method == "Runtime.exceptionThrown":
            self.log.append(f"exception: {params['exceptionDetails']}")
        elif method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 15) -> Any:
        """Poll ``expression`` until it is truthy (the page's own fetches run meanwhile)."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"never true: {expression}; browser log: {self.log}")
            await asyncio.sleep(0.05)

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait_for(
            f"location.href.startsWith({json.dumps(url.split('?', 1)[0])}) "
            "&& document.readyState === 'complete'"
        )

    async def fill(self, selector: str, value: str) -> None:
        await self.evaluate(
            f"document.querySelector({json.dumps(selector)}).value = {json.dumps(value)}"
        )

    async def submit(self, form_id: str) -> None:
        """Submit like a click on the form's button (its ``submit`` handler runs)."""
        await self.evaluate(f"document.getElementById({json.dumps(form_id)}).requestSubmit()")

    async def status_text(self) -> str:
        """The page's status line once its script has written to it."""
        text: str = await self.wait_for("document.getElementById('out').textContent")
        return text
