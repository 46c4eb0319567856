"""requirements.lock (what the Docker image installs with --require-hashes) agrees with
pyproject.toml, so a dependency bump without regenerating the lock fails here, before
the image build's `pip check` would."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = (ROOT / "requirements.lock").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
#: `name==version \` followed by its `--hash=sha256:…` lines.
ENTRY = re.compile(
    r"^([A-Za-z0-9._-]+)==(\S+) \\\n((?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", re.M
)


def _locked() -> dict[str, str]:
    return {canonicalize_name(name): version for name, version, _ in ENTRY.findall(LOCK)}


def test_every_locked_package_is_pinned_with_hashes() -> None:
    pinned = [line for line in LOCK.splitlines() if re.match(r"^[A-Za-z0-9]", line)]
    assert pinned, "the lock lists no package"
    assert len(ENTRY.findall(LOCK)) == len(pinned)  # each `name==version` has its hashes


def test_the_lock_satisfies_pyproject() -> None:
    locked = _locked()
    wanted = [
        *PYPROJECT["project"]["dependencies"],
        *PYPROJECT["build-system"]["requires"],  # the image builds the hub offline
    ]
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{line} but requirements.lock has {name}=={locked[name]}"
        )


def test_the_dockerfile_installs_the_lock_with_hashes() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY requirements.lock" in dockerfile
    assert "--require-hashes" in dockerfile
    assert "--no-build-isolation --no-index ." in dockerfile
