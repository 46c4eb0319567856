"""`hub run` as a newcomer runs it: embedded servers, migrations, API, worker.

A newcomer signs up, opens the mailed link (the hub's own page, in Chromium when
installed), confirms and signs in, all with the defaults.

Then the nasty case: SIGKILL leaves the embedded servers orphaned; the next start must
adopt them (never start a second server on the same data directory) and SIGTERM must
stop everything.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.browser import Browser, chromium_or_skip
from tests.support import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
HUB = Path(sys.executable).with_name("hub")
START_TIMEOUT_S = 120  # a failure bound for a loaded CI machine, not a speed claim
DEFAULT_ADDRESS = "http://127.0.0.1:8000"  # HUB_PUBLIC_URL's default: `make run`'s address


def _servers_for(data_dir: Path) -> tuple[list[psutil.Process], list[psutil.Process]]:
    postmasters, redis = [], []
    for proc in psutil.process_iter(["name", "cmdline", "ppid"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
            if proc.info["name"] == "postgres" and str(data_dir) in cmd and "-D" in cmd:
                postmasters.append(proc)
            elif proc.info["name"] == "redis-server" and str(data_dir) in cmd:
                redis.append(proc)
        except psutil.Error:
            continue
    return postmasters, redis


def _start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATA_DIR=str(data_dir), HUB_LOG_LEVEL="WARNING")
    return subprocess.Popen(
        [str(HUB), "run", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _wait_until_up(proc: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise AssertionError(f"hub run exited with {proc.returncode}:\n{err[-3000:]}")
        try:
            if httpx.get(base + "/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError("hub run did not become ready")


def _hub(data_dir: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_DATA_DIR"] = str(data_dir)
    result = subprocess.run(
        [str(HUB), *args], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout


def _wait_for_mail(data_dir: Path, to: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listing = _hub(data_dir, "mail", "list", "--to", to)
        if to in listing:
            return listing
        time.sleep(0.3)
    raise AssertionError(f"no mail to {to} arrived")


def _verify_through_the_page(url: str) -> None:
    """Open the verification page and confirm: in headless Chromium when one is installed
    (CI installs it), else by the one request the page's script makes."""
    page = httpx.get(url)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert '<form id="verify" method="post"' in page.text
    try:
        chromium = chromium_or_skip()
    except pytest.skip.Exception:
        token = url.split("token=", 1)[1]
        api = url.split("/verify-email", 1)[0] + "/api/v1/auth/verify-email"
        assert httpx.post(api, json={"token": token}).status_code == 200
        return

    async def click() -> str:
        async with Browser(chromium) as browser:
            await browser.goto(url)
            await browser.submit("verify")
            return await browser.status_text()

    assert asyncio.run(click()) == "Your address is confirmed. You can sign in now."


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="hub-e2e-run-"))
    yield path
    # never leak servers, whatever happened
    env = {**os.environ, "HUB_DATA_DIR": str(path)}
    subprocess.run(
        [str(HUB), "embedded", "stop"], env=env, check=False, capture_output=True, timeout=60
    )
    pg, rd = _servers_for(path)
    for p in pg + rd:
        p.kill()


# two starts (each bounded by START_TIMEOUT_S), the newcomer's path, the stops
@pytest.mark.timeout(2 * START_TIMEOUT_S + 120)
def test_hub_run_serves_and_survives_sigkill(data_dir: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    first = _start(data_dir, port)
    try:
        _wait_until_up(first, base)
        assert httpx.get(base + "/health").json() == {"status": "ok"}
        ready = httpx.get(base + "/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
        docs = httpx.get(base + "/api/docs")
        assert docs.status_code == 200
        assert "text/html" in docs.headers["content-type"]
        assert httpx.get(base + "/api/openapi.json").json()["info"]["title"] == "Hub API"
        # a newcomer signs up and follows the link: the in-process worker relays the
        # outbox and the mail lands in the development mailbox, which `hub mail` shows
        signup = httpx.post(
            base + "/api/v1/auth/register",
            json={
                "email": "newcomer@example.com",
                "password": "a long enough passphrase",
                "displayName": "Newcomer",
            },
        )
        assert signup.status_code == 202
        listing = _wait_for_mail(data_dir, "newcomer@example.com")
        mail_id = listing.split()[0]
        (link,) = [line.strip() for line in listing.splitlines() if line.startswith("    ")]
        assert link in _hub(data_dir, "mail", "show", mail_id)
        # With the defaults the link opens the hub's own page on `make run`'s address; this
        # run serves on another port, so the newcomer's click is made here.
        assert link.startswith(DEFAULT_ADDRESS + "/verify-email?token=hub_et_"), link
        _verify_through_the_page(base + link.removeprefix(DEFAULT_ADDRESS))
        signed_in = httpx.post(
            base + "/api/v1/auth/login",
            json={"email": "newcomer@example.com", "password": "a long enough passphrase"},
        )
        assert signed_in.status_code == 200, signed_in.text
        assert signed_in.json()["status"] == "authenticated"
        pg, rd = _servers_for(data_dir)
        assert len(pg) == 1
        assert len(rd) == 1
        pg_pid, rd_pid = pg[0].pid, rd[0].pid
        # The README says the servers are shared: `hub embedded stop` beside the run
        # refuses, naming the owner, and the run keeps serving.
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        refused = subprocess.run(
            [str(HUB), "embedded", "stop"],
            env={**env, "HUB_DATA_DIR": str(data_dir)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert refused.returncode == 1, refused.stderr
        assert f"in use by process {first.pid}" in refused.stderr
        assert httpx.get(base + "/ready").status_code == 200
        assert [p.pid for p in _servers_for(data_dir)[0]] == [pg_pid]
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)

    # the killed run's servers are orphaned, still running
    pg, rd = _servers_for(data_dir)
    assert [p.pid for p in pg] == [pg_pid]
    assert [p.pid for p in rd] == [rd_pid]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    second = _start(data_dir, port)
    try:
        _wait_until_up(second, base)
        pg, rd = _servers_for(data_dir)
        assert len(pg) == 1, "a second PostgreSQL was started on the same data directory"
        assert len(rd) == 1, "a second Redis was started on the same data directory"
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
    # SIGTERM stops the adopted servers too
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_servers_for(data_dir)):
        time.sleep(0.2)
    assert _servers_for(data_dir) == ([], [])
