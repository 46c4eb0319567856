"""The README is the operators' reference: every setting and CLI command must be in it."""

from __future__ import annotations

import re
from pathlib import Path

import click

from hub.app import context_modules
from hub.cli import main
from hub.kernel.settings import Settings, field_types

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"HUB_[A-Z0-9_]+", README))
    # grouped rows such as `HUB_PASSWORD_HASH_TIME_COST`, `_MEMORY_KIB` name the suffix only
    suffixes = set(re.findall(r"`(_[A-Z0-9_]+)`", README))
    missing = []
    names = set(field_types(Settings))
    for module in context_modules():
        if module.settings is not None:
            names |= set(field_types(module.settings))
    for field in sorted(names):
        name = f"HUB_{field.upper()}"
        if name in documented:
            continue
        if any(name.endswith(suffix) for suffix in suffixes):
            continue
        missing.append(name)
    assert missing == []


def _commands(group: click.Group, prefix: str = "hub") -> list[str]:
    out = []
    for name, command in group.commands.items():
        full = f"{prefix} {name}"
        if isinstance(command, click.Group):
            out += _commands(command, full)
        else:
            out.append(full)
    return out


def test_every_cli_command_is_documented() -> None:
    missing = [c for c in _commands(main) if f"`{c}" not in README and f"{c} " not in README]
    assert missing == []
