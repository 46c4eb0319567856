"""The import-linter contracts bite: plant one violation of each in a copy of the tree
and ``lint-imports`` must fail naming that contract (a contract that cannot fail is
worthless). The unmodified copy must pass."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

LAYERS = "app (composition root) > contexts > kernel"
INDEPENDENT = "Contexts talk to each other only through hub.<ctx>.api"
DAG = "Context dependencies form a DAG (no api<->api cycles)"
INNER = "Layering inside each context"
PORTABLE = "Public api and kernel events carry no framework/ORM imports"
DEVSERVERS_USERS = "Only the composition root uses the development servers"
DEVSERVERS_DEPS = "The development servers build on the kernel alone"
INTELLIGENCE = "Layering inside workflow's intelligence module"
PACKS = "Domain packs reach the contexts only through their public api"
ALL = (
    LAYERS,
    INDEPENDENT,
    DAG,
    INNER,
    PORTABLE,
    DEVSERVERS_USERS,
    DEVSERVERS_DEPS,
    INTELLIGENCE,
    PACKS,
)


def _append(path: str, line: str) -> Callable[[Path], None]:
    def plant(src: Path) -> None:
        target = src / path
        target.write_text(target.read_text() + "\n" + line + "\n")

    return plant


def _create(path: str, text: str) -> Callable[[Path], None]:
    def plant(src: Path) -> None:
        (src / path).write_text(text)

    return plant


def _both(*plants: Callable[[Path], None]) -> Callable[[Path], None]:
    def plant(src: Path) -> None:
        for p in plants:
            p(src)

    return plant


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "src" / "hub", tmp_path / "src" / "hub", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_unmodified_tree_keeps_every_contract(tree: Path) -> None:
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ALL:
        assert f"{name} KEPT" in result.stdout


#: One planted violation per case: ``(contracts it must break, plant)``.
PLANTS: list[tuple[tuple[str, ...], Callable[[Path], None]]] = [
    ((LAYERS, DAG), _create("hub/kernel/planted.py", "import hub.identity.services\n")),
    ((INDEPENDENT,), _append("hub/content/services/__init__.py", "import hub.identity.models")),
    (
        (DAG,),
        _both(
            _append("hub/identity/api.py", "import hub.content.api"),
            _append("hub/content/api.py", "import hub.identity.api"),
        ),
    ),
    ((INNER,), _append("hub/identity/models.py", "import hub.identity.services")),
    ((INNER,), _create("hub/identity/helpers.py", '"""a module outside the layers"""\n')),
    ((PORTABLE,), _append("hub/workflow/api.py", "import sqlalchemy")),
    ((PORTABLE,), _append("hub/kernel/events.py", "import litestar")),
    ((DEVSERVERS_USERS,), _append("hub/content/services/__init__.py", "import hub.devservers")),
    ((DEVSERVERS_DEPS,), _create("hub/devservers/planted.py", "import hub.identity.api\n")),
    ((LAYERS,), _append("hub/content/services/__init__.py", "import hub.worker")),
    (
        (INTELLIGENCE,),
        _append(
            "hub/workflow/intelligence/domain/__init__.py",
            "import hub.workflow.intelligence.services",
        ),
    ),
    ((PACKS,), _append("hub/packs/engine.py", "import hub.content.services.taxonomy")),
    (
        (LAYERS, INDEPENDENT, DAG),  # through the packs, workflow would reach the others
        _append("hub/workflow/services/__init__.py", "import hub.packs.engine"),
    ),
]
PLANT_IDS = [
    "kernel-imports-context",
    "context-imports-foreign-internals",
    "api-cycle",
    "models-import-services",
    "module-outside-layers",
    "api-imports-orm",
    "kernel-events-import-framework",
    "context-imports-devservers",
    "devservers-import-context",
    "context-imports-composition-root",
    "intelligence-domain-imports-services",
    "packs-import-context-internals",
    "context-imports-packs",
]


def test_every_contract_in_importlinter_has_a_planted_violation() -> None:
    """A contract added to ``.importlinter`` without a case here would never be shown to
    bite; one renamed would make the cases below check a name that no longer exists."""
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    declared = {
        config[section]["name"]
        for section in config.sections()
        if section.startswith("importlinter:contract:")
    }
    assert declared == set(ALL)
    assert {name for contracts, _ in PLANTS for name in contracts} == declared
    assert len(PLANT_IDS) == len(PLANTS)


@pytest.mark.parametrize(("contracts", "plant"), PLANTS, ids=PLANT_IDS)
def test_each_contract_fails_on_a_planted_violation(
    tree: Path, contracts: tuple[str, ...], plant: Callable[[Path], None]
) -> None:
    plant(tree / "src")
    result = _lint(tree)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for name in ALL:
        expected = "BROKEN" if name in contracts else "KEPT"
        assert f"{name} {expected}" in output, (name, output)
