"""docs/walkthrough.md, executed: a day-one guide that nobody runs rots silently.

Every fenced ``sh`` block of the page runs, in order, in one POSIX shell (``set -eu``), as
a reader pasting them into one terminal would, against a real ``hub run`` with its
in-process worker and development mailbox. Only the address changes: the page says
``http://127.0.0.1:8000`` (``make run``'s default), the test serves on a free port. Then
the outcome is checked from outside the script: Bob is a member of Alice's organisation.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from hub.kernel.settings import Settings
from tests.support import free_port

HUB = Path(sys.executable).with_name("hub")
DOC = Path(__file__).resolve().parents[2] / "docs" / "walkthrough.md"
DEFAULT_ADDRESS = "http://127.0.0.1:8000"
START_TIMEOUT_S = 60  # a failure bound for a loaded CI machine, not a speed claim
SCRIPT_TIMEOUT_S = 120
#: The API calls the walkthrough promises, in the order it promises them.
STEPS = [
    "/auth/register",
    "hub mail list --to alice@example.com",
    "/auth/verify-email",
    "/auth/login",
    '"$API/orgs"',
    "/invitations",
    "/accept",
]


def fenced_blocks(markdown: str) -> list[tuple[str, str]]:
    """``(language, body)`` of every fenced block, in document order."""
    blocks: list[tuple[str, str]] = []
    language: str | None = None
    body: list[str] = []
    for line in markdown.splitlines():
        if language is None:
            if line.startswith("```"):
                language, body = line[3:].strip(), []
        elif line.startswith("```"):
            blocks.append((language, "\n".join(body) + "\n"))
            language = None
        else:
            body.append(line)
    assert language is None, "an unclosed code fence"
    return blocks


def sh_blocks(markdown: str) -> list[str]:
    """The bodies of the fenced ```sh blocks, in document order."""
    return [body for language, body in fenced_blocks(markdown) if language == "sh"]


def test_the_walkthrough_runs_its_steps_in_order_and_hides_no_command() -> None:
    text = DOC.read_text()
    script = "\n".join(sh_blocks(text))
    position = 0
    for step in STEPS:
        found = script.find(step, position)
        assert found != -1, f"{step!r} is missing, or comes before an earlier step"
        position = found
    assert DEFAULT_ADDRESS in script
    # A command shown in any other kind of block would never be executed by the test below.
    others = [body for language, body in fenced_blocks(text) if language != "sh"]
    assert others, "the page shows what the commands print in ```text blocks"
    assert not [b for b in others if re.search(r"^\s*(curl|hub) ", b, re.MULTILINE)]


def _curl_skip_reason() -> str | None:
    curl = shutil.which("curl")
    if curl is None:
        return "curl is not installed (the walkthrough is written for curl)"
    help_text = subprocess.run(
        [curl, "--help", "all"], capture_output=True, text=True, check=False
    ).stdout
    if "--fail-with-body" not in help_text:
        return "this curl predates --fail-with-body (curl 7.76)"
    return None


@dataclass(frozen=True)
class RunningHub:
    base: str
    #: What ``hub`` commands need to see the same servers and mailbox (kept out of reprs).
    env: dict[str, str] = field(repr=False)


@pytest.fixture
def hub_run(settings: Settings, clean_state: None, tmp_path: Path) -> Iterator[RunningHub]:
    """A ``hub run`` on a free port, on empty tables, with a mailbox of its own."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_ENV="test",
        HUB_DATABASE_URL=settings.database_url or "",
        HUB_REDIS_URL=settings.redis_url or "",
        HUB_DATA_DIR=str(tmp_path / "hubdata"),
        HUB_PUBLIC_URL=base,
        HUB_LOG_LEVEL="WARNING",
        HUB_WORKER_IDLE_POLL_MS="50",
        PATH=f"{HUB.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    proc = subprocess.Popen(
        [str(HUB), "run", "--port", str(port), "--no-migrate"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise AssertionError(f"hub run exited with {proc.returncode}:\n{err[-3000:]}")
            try:
                if httpx.get(base + "/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "hub run did not become ready"
            time.sleep(0.25)
        yield RunningHub(base, env)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.timeout(START_TIMEOUT_S + SCRIPT_TIMEOUT_S + 60)
def test_the_walkthrough_works_against_a_live_hub(hub_run: RunningHub, tmp_path: Path) -> None:
    reason = _curl_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    base, env = hub_run.base, hub_run.env
    script = "set -eu\n" + "\n".join(sh_blocks(DOC.read_text()))
    script = script.replace(DEFAULT_ADDRESS, base)
    workdir = tmp_path / "reader"  # no .venv here: `hub` comes from the PATH set above
    workdir.mkdir()
    result = subprocess.run(
        ["sh", "-c", script],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_S,
        check=False,
    )
    transcript = (
        f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    assert result.returncode == 0, transcript
    assert '"organisationName":"Acme Supplies"' in result.stdout, transcript

    # The outcome, seen without the script: Bob signs in and belongs to Acme as a member.
    login = httpx.post(
        base + "/api/v1/auth/login",
        json={"email": "bob@example.com", "password": "bob has a long passphrase"},
    )
    assert login.status_code == 200, login.text
    orgs = httpx.get(
        base + "/api/v1/orgs",
        headers={"Authorization": f"Bearer {login.json()['accessToken']}"},
    )
    assert orgs.status_code == 200, orgs.text
    [org] = orgs.json()["items"]
    assert (org["name"], org["roles"]) == ("Acme Supplies", ["member"])
