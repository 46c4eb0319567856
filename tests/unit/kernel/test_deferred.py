"""Heavy libraries wait for their first use: importing the app does not import
scikit-learn, SciPy or skops, and a deferred module is imported once, whichever threads
read it first."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from hub.kernel.deferred import DeferredModule, deferred_module

ROOT = Path(__file__).resolve().parents[3]


def test_importing_the_app_leaves_the_machine_learning_libraries_out() -> None:
    probe = (
        "import sys, hub.app, hub.worker\n"
        "print(sorted({m.split('.')[0] for m in sys.modules}"
        " & {'sklearn', 'scipy', 'skops', 'pytest'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_a_deferred_module_is_imported_at_its_first_read_once() -> None:
    name = "tests.unit.kernel._deferred_target"
    sys.modules.pop(name, None)
    target = deferred_module(name)
    assert isinstance(target, DeferredModule)
    assert name not in sys.modules
    assert "not imported yet" in repr(target)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(target.IMPORTS)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1] * 8  # one import, seen by every thread
    assert target.double(21) == 42
    assert name in sys.modules
