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


ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _prose(path: Path) -> list[str]:
    """The lines of a Markdown file outside fenced code blocks."""
    lines, fenced = [], False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens,
    ``-1``, ``-2``… for repeats."""
    seen: dict[str, int] = {}
    for line in _prose(path):
        match = re.match(r"#{1,6} (.+)", line)
        if match is None:
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        if count:
            seen[f"{slug}-{count}"] = 1
    return set(seen)


def test_the_documentation_lives_in_this_repository() -> None:
    """A clone holds README.md and docs/ only: no pointer to the workspace's shared notes."""
    offenders = []
    for path in DOCUMENTS:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\.\./shared/|\bARCHITECTURE\.md\b|\bAPI\.md\b", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_relative_links_in_the_documentation_resolve() -> None:
    broken = []
    for path in DOCUMENTS:
        for line in _prose(path):
            for target in _LINK.findall(line):
                if re.match(r"[a-z]+:", target):
                    continue  # http(s), mailto: not checked here
                file_part, _, anchor = target.partition("#")
                linked = (path.parent / file_part).resolve() if file_part else path
                if not linked.exists():
                    broken.append(f"{path.relative_to(ROOT)}: {target} (no such file)")
                elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                    broken.append(f"{path.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []
