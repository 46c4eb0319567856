"""The `hub` commands on the embedded servers: a fresh data directory is migrated before a
command uses the tables, and `hub embedded stop` leaves the servers of a live owner alone."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import make_url

from hub.cli import main as hub_cli
from hub.devservers import EmbeddedPostgres, EmbeddedRedis

pytestmark = pytest.mark.integration


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="hub-cli-", dir="/tmp"))
    try:
        yield path
    finally:
        try:
            EmbeddedPostgres(path).stop()
        finally:
            EmbeddedRedis(path).stop()
            shutil.rmtree(path, ignore_errors=True)


def _hub(data_dir: Path, *args: str) -> Result:
    env: dict[str, str | None] = {
        "HUB_DATA_DIR": str(data_dir),
        "HUB_ENV": "development",
        "HUB_DATABASE_URL": None,  # the embedded servers
        "HUB_REDIS_URL": None,
        "HUB_NEW_USER_PASSWORD": "a long enough passphrase",
        "HUB_PASSWORD_HASH_MEMORY_KIB": "1024",
        "HUB_PASSWORD_HASH_TIME_COST": "1",
    }
    return CliRunner().invoke(hub_cli, list(args), env=env)


async def _emails(data_dir: Path) -> list[str]:
    url = EmbeddedPostgres(data_dir).start()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        return [r["email"] for r in await conn.fetch("SELECT email FROM identity.users")]
    finally:
        await conn.close()


async def test_create_admin_on_a_fresh_data_directory_migrates_first(data_dir: Path) -> None:
    result = await asyncio.to_thread(_hub, data_dir, "users", "create-admin", "root@example.com")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    # the command owned the servers it started, so it stopped them again
    assert EmbeddedPostgres(data_dir).pid is None
    assert EmbeddedRedis(data_dir).pid is None
    assert await _emails(data_dir) == ["root@example.com"]


def _hold_ownership(data_dir: Path) -> subprocess.Popen[str]:
    """Another process holding the owner lock, as a running `hub run` does."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from hub.devservers import ownership\n"
        "with ownership(Path(sys.argv[1])) as owner:\n"
        "    print('owner' if owner else 'not owner', flush=True)\n"
        "    sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "owner"
    return holder


def test_embedded_stop_refuses_while_an_owner_holds_the_servers(data_dir: Path) -> None:
    redis_server = EmbeddedRedis(data_dir)
    redis_server.start()
    redis_pid = redis_server.pid
    assert redis_pid is not None
    holder = _hold_ownership(data_dir)
    try:
        refused = _hub(data_dir, "embedded", "stop")
        assert refused.exit_code == 1, refused.output
        assert f"in use by process {holder.pid}" in refused.output
        assert "stop it first" in refused.output
        assert redis_server.pid == redis_pid  # still serving the owner
        assert psutil.pid_exists(redis_pid)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)

    # the owner is gone (a killed `hub run` leaves orphans): now stop may end them
    stopped = _hub(data_dir, "embedded", "stop")
    assert stopped.exit_code == 0, stopped.output
    assert stopped.output.strip() == "stopped"
    assert redis_server.pid is None


def test_embedded_stop_without_a_data_directory_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "never-used"
    result = _hub(missing, "embedded", "stop")
    assert result.exit_code == 0, result.output
    assert "nothing to stop" in result.output
    assert not missing.exists()


def test_embedded_start_prints_the_urls_and_leaves_the_servers_running(data_dir: Path) -> None:
    started = _hub(data_dir, "embedded", "start")
    assert started.exit_code == 0, started.output
    lines = started.output.strip().splitlines()
    assert lines[0].startswith("HUB_DATABASE_URL=postgresql+asyncpg://")
    assert f"host={data_dir}/postgres" in lines[0]
    assert lines[1] == f"HUB_REDIS_URL=unix://{data_dir}/redis/redis.sock"
    postgres, redis_server = EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)
    pids = (postgres.pid, redis_server.pid)
    assert None not in pids  # still serving after the command ended
    assert all(psutil.pid_exists(p) for p in pids if p is not None)

    again = _hub(data_dir, "embedded", "start")  # found, not started twice
    assert again.exit_code == 0, again.output
    assert again.output == started.output
    assert (postgres.pid, redis_server.pid) == pids

    assert _hub(data_dir, "embedded", "stop").output.strip() == "stopped"
    assert (postgres.pid, redis_server.pid) == (None, None)


def test_a_relative_data_directory_is_the_checkouts_from_any_subdirectory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from a subdirectory, a command used to look for (and create) `.hub` there."""
    checkout = tmp_path / "hub-checkout"
    (checkout / "src" / "deep").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text('[project]\nname = "hub"\nversion = "0"\n')
    monkeypatch.chdir(checkout / "src" / "deep")
    result = CliRunner().invoke(
        hub_cli,
        ["embedded", "stop"],
        env={"HUB_DATA_DIR": ".hub", "HUB_DATABASE_URL": None, "HUB_REDIS_URL": None},
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"nothing to stop: no data directory {checkout / '.hub'}"
    assert not (checkout / "src" / "deep" / ".hub").exists()
