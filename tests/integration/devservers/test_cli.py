"""The `hub` commands on the embedded servers: a fresh data directory is migrated before a
command uses the tables."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
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
