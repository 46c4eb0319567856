"""Helpers for the pack tests: the engine of a running app, a pack copied to edit."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar

from hub.packs.engine import PackEngine
from hub.packs.shipped import SHIPPED_ROOT
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import person


def engine_of(app: Litestar) -> PackEngine:
    engine: PackEngine = app.state["kernel"].services["packs"]
    return engine


def copy_of(name: str, into: Path) -> Path:
    """A shipped pack's files in a directory of the test's own."""
    target = into / name
    shutil.copytree(SHIPPED_ROOT / name, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def paths(problems: list[Any]) -> list[str]:
    return [p.path for p in problems]


async def platform_admin(client: Any, database_url: str, email: str = "root@example.com") -> Any:
    """A signed-in person made platform administrator (as `hub users create-admin` does)."""
    who = await person(client, database_url, email)
    await fetch(
        database_url,
        "UPDATE identity.users SET is_platform_admin = true WHERE id = $1::uuid",
        who.user_id,
    )
    return who


def as_json(document: Any) -> Any:
    return msgspec.to_builtins(document)
