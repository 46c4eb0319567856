"""Per-context alembic histories: built by migrations, version tables inside each schema,
downgradable per context, and a drift check that fails when models change."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from sqlalchemy import Column, Integer, Table
from sqlalchemy.engine import make_url

from hub.app import context_modules
from hub.cli import main as hub_cli
from hub.identity.models import Base as IdentityBase
from hub.kernel import migrations

CONTEXTS = [m.name for m in context_modules()]


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(_dsn(url))
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture
def scratch_url(database_url: str) -> Iterator[str]:
    """An empty database on the test server, dropped afterwards."""
    name = f"hub_mig_{uuid4().hex[:12]}"
    _fetch(database_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _fetch(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _tables(url: str, schema: str) -> set[str]:
    rows = _fetch(url, "SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
    return {r["tablename"] for r in rows}


def test_every_context_has_its_schema_and_version_table(database_url: str) -> None:
    root = migrations.migrations_root()
    for context in CONTEXTS:
        tables = _tables(database_url, context)
        assert {"alembic_version", "outbox", "inbox"} <= tables, context
        assert migrations.current(context, database_url, root) is not None
    assert _tables(database_url, "public") & {"alembic_version"} == set()


def test_downgrade_one_context_leaves_the_others(scratch_url: str) -> None:
    root = migrations.migrations_root()
    migrations.upgrade(CONTEXTS, scratch_url, root)
    head = migrations.current("workflow", scratch_url, root)
    migrations.downgrade("workflow", scratch_url, root, "base")
    assert migrations.current("workflow", scratch_url, root) is None
    assert _tables(scratch_url, "workflow") == {"alembic_version"}
    assert {"outbox", "inbox"} <= _tables(scratch_url, "identity")
    migrations.upgrade(["workflow"], scratch_url, root)
    assert migrations.current("workflow", scratch_url, root) == head
    # upgrading an up-to-date database is a no-op
    migrations.upgrade(CONTEXTS, scratch_url, root)


def _hub(database_url: str, redis_url: str, *args: str) -> Result:
    env = {"HUB_DATABASE_URL": database_url, "HUB_REDIS_URL": redis_url, "HUB_ENV": "test"}
    return CliRunner().invoke(hub_cli, list(args), env=env)


def _down_revision(context: str, revision: str) -> str | None:
    cfg = migrations.alembic_config(context, "postgresql://", migrations.migrations_root())
    down = ScriptDirectory.from_config(cfg).get_revision(revision).down_revision
    assert down is None or isinstance(down, str)
    return down


def test_hub_db_downgrade_takes_a_relative_revision(scratch_url: str, redis_url: str) -> None:
    root = migrations.migrations_root()
    migrations.upgrade(CONTEXTS, scratch_url, root)
    head = migrations.current("identity", scratch_url, root)
    assert head is not None
    previous = _down_revision("identity", head)
    assert previous is not None  # identity has more than one revision

    result = _hub(scratch_url, redis_url, "db", "downgrade", "identity", "-1")
    assert result.exit_code == 0, result.output
    assert migrations.current("identity", scratch_url, root) == previous
    assert migrations.current("workflow", scratch_url, root) is not None

    # The README's own example.
    workflow_head = migrations.current("workflow", scratch_url, root)
    assert workflow_head is not None
    result = _hub(scratch_url, redis_url, "db", "downgrade", "workflow", "-1")
    assert result.exit_code == 0, result.output
    assert migrations.current("workflow", scratch_url, root) == _down_revision(
        "workflow", workflow_head
    )


def test_hub_db_upgrade_refuses_a_revision_already_passed(scratch_url: str, redis_url: str) -> None:
    root = migrations.migrations_root()
    migrations.upgrade(CONTEXTS, scratch_url, root)
    head = migrations.current("identity", scratch_url, root)
    assert head is not None
    older = _down_revision("identity", head)
    assert older is not None

    for extra in ([], ["--context", "identity"]):
        result = _hub(scratch_url, redis_url, "db", "upgrade", "--revision", older, *extra)
        assert result.exit_code == 1, result.output
        assert f"identity is already at {head}, past {older}" in result.output
        assert "hub db downgrade identity" in result.output
        assert "upgraded" not in result.output
    assert migrations.current("identity", scratch_url, root) == head


def test_hub_db_upgrade_to_a_revision_id_upgrades_its_context_only(
    scratch_url: str, redis_url: str
) -> None:
    root = migrations.migrations_root()
    migrations.upgrade(CONTEXTS, scratch_url, root)
    head = migrations.current("identity", scratch_url, root)
    assert head is not None
    middle = _down_revision("identity", head)
    assert middle is not None
    migrations.downgrade("identity", scratch_url, root, "base")

    result = _hub(scratch_url, redis_url, "db", "upgrade", "--revision", middle)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "upgraded: identity"
    assert migrations.current("identity", scratch_url, root) == middle
    assert migrations.current("workflow", scratch_url, root) is not None


def test_commands_needing_the_schema_name_hub_db_upgrade_on_an_unmigrated_database(
    scratch_url: str, redis_url: str
) -> None:
    """Against configured servers the CLI never migrates on its own: one line, exit 1."""
    password = {"HUB_NEW_USER_PASSWORD": "a long enough passphrase"}
    env = {"HUB_DATABASE_URL": scratch_url, "HUB_REDIS_URL": redis_url, "HUB_ENV": "test"}
    for args in (["users", "create-admin", "root@example.com"], ["jobs", "stats"]):
        result = CliRunner().invoke(hub_cli, args, env={**env, **password})
        assert result.exit_code == 1, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1, result.output
        assert "run `hub db upgrade` first" in lines[0]
        assert "identity not migrated" in lines[0]
        assert "workflow not migrated" in lines[0]
    assert migrations.current("identity", scratch_url, migrations.migrations_root()) is None

    root = migrations.migrations_root()
    migrations.upgrade(["identity"], scratch_url, root)
    migrations.downgrade("identity", scratch_url, root, "-1")
    at = migrations.current("identity", scratch_url, root)
    result = CliRunner().invoke(hub_cli, ["keys", "list"], env=env)
    assert result.exit_code == 1, result.output
    assert f"identity at {at}, head " in result.output
    assert "content not migrated" in result.output

    migrations.upgrade(CONTEXTS, scratch_url, root)
    result = CliRunner().invoke(
        hub_cli, ["users", "create-admin", "root@example.com"], env={**env, **password}
    )
    assert result.exit_code == 0, result.output


def test_hub_db_current_and_check_on_a_new_database(scratch_url: str, redis_url: str) -> None:
    """`hub db current` names every context, `hub db check` brings them to head first."""
    before = _hub(scratch_url, redis_url, "db", "current")
    assert before.exit_code == 0, before.output
    assert before.output.splitlines() == [f"{c}: (none)" for c in CONTEXTS]

    checked = _hub(scratch_url, redis_url, "db", "check")
    assert checked.exit_code == 0, checked.output
    assert checked.output.splitlines()[-1] == "models and migrations agree: " + ", ".join(CONTEXTS)
    root = migrations.migrations_root()
    after = _hub(scratch_url, redis_url, "db", "current")
    heads = [f"{c}: {migrations.current(c, scratch_url, root)}" for c in CONTEXTS]
    assert after.output.splitlines() == heads
    assert "(none)" not in after.output


def test_hub_db_revision_writes_a_revision_on_the_contexts_head(
    scratch_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Into a copy of the migrations (HUB_MIGRATIONS_DIR), so the checkout stays as it is."""
    root = tmp_path / "migrations"
    shutil.copytree(
        migrations.migrations_root(), root, ignore=shutil.ignore_patterns("__pycache__")
    )
    versions = root / "workflow" / "versions"
    before = set(versions.glob("*.py"))
    head = ScriptDirectory.from_config(
        migrations.alembic_config("workflow", scratch_url, root)
    ).get_current_head()

    env = {
        "HUB_DATABASE_URL": scratch_url,
        "HUB_REDIS_URL": redis_url,
        "HUB_ENV": "test",
        "HUB_MIGRATIONS_DIR": str(root),
    }
    result = CliRunner().invoke(hub_cli, ["db", "revision", "workflow", "-m", "probe"], env=env)
    assert result.exit_code == 0, result.output
    (written,) = set(versions.glob("*.py")) - before
    assert written.name.endswith("_probe.py")
    script = ScriptDirectory.from_config(migrations.alembic_config("workflow", scratch_url, root))
    new = script.get_revision(script.get_current_head())
    assert new is not None
    assert new.down_revision == head
    assert Path(new.path) == written
    text = written.read_text()
    # Models and migrations agree, so there is nothing in it to apply.
    assert "pass" in text
    unknown = CliRunner().invoke(hub_cli, ["db", "revision", "nowhere", "-m", "x"], env=env)
    assert unknown.exit_code == 2
    assert "unknown context 'nowhere'" in unknown.output


def test_check_fails_when_models_and_migrations_drift(database_url: str) -> None:
    root = migrations.migrations_root()
    migrations.check(CONTEXTS, database_url, root)
    planted = Table("drift_probe", IdentityBase.metadata, Column("id", Integer, primary_key=True))
    try:
        with pytest.raises(migrations.MigrationDrift, match="identity") as err:
            migrations.check(CONTEXTS, database_url, root)
        assert "drift_probe" in str(err.value)
        assert "content:" not in str(err.value)
    finally:
        IdentityBase.metadata.remove(planted)
    migrations.check(CONTEXTS, database_url, root)
