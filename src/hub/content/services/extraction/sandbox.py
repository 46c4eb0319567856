"""The parent side of extraction: run the child (``worker``) on a file, bound its wall
time, kill its process group past it, and read its answer.

A subprocess, not a thread or a fork of the worker: a parser that hangs, balloons or
crashes in C takes only the child with it, and the child's limits (RLIMIT_AS…) never
touch the worker's own. The child is started with the interpreter running the worker and
the directory ``hub`` was imported from on its path.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hub
from hub.content.domain.extraction import MAX_BARCODES

#: ``hub``'s parent directory: the child imports the same code as its parent.
_SOURCE_ROOT = str(Path(hub.__file__).resolve().parent.parent)
WORKER_MODULE = "hub.content.services.extraction.worker"
#: Codes of failures that retrying cannot change (the same bytes fail the same way).
PERMANENT = frozenset({"too_large", "corrupt", "encrypted"})


class ExtractionFailed(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    @property
    def permanent(self) -> bool:
        return self.code in PERMANENT


@dataclass(frozen=True)
class Extracted:
    status: str
    text: str
    truncated: bool
    ocr: bool
    #: ``(page, text)`` of the barcodes read (when asked for: ``barcode_pages``).
    barcodes: tuple[tuple[int, str], ...] = ()


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    paths = [_SOURCE_ROOT, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["OMP_THREAD_LIMIT"] = "1"
    return env


def run(
    path: Path,
    media_type: str,
    *,
    timeout_seconds: int,
    memory_mb: int,
    languages: str,
    barcode_pages: int = 0,
) -> Extracted:
    """Extract ``path`` in a child process (blocking: call it from a thread)."""
    answer = call(
        WORKER_MODULE,
        {
            "path": str(path),
            "media_type": media_type,
            "memory_mb": memory_mb,
            "cpu_seconds": timeout_seconds + 1,
            "languages": languages,
            "barcode_pages": barcode_pages,
        },
        timeout_seconds=timeout_seconds,
        what="extraction",
    )
    if "error" in answer:
        raise ExtractionFailed(str(answer["error"]), str(answer.get("detail", "")))
    return Extracted(
        status=str(answer["status"]),
        text=str(answer["text"]),
        truncated=bool(answer["truncated"]),
        ocr=bool(answer["ocr"]),
        barcodes=tuple(
            (int(page), str(text)) for page, text in answer.get("barcodes", [])[:MAX_BARCODES]
        ),
    )


def call(
    module: str, request: dict[str, Any], *, timeout_seconds: int, what: str
) -> dict[str, Any]:
    """Run ``python -m module REQUEST`` (a child that bounds itself) and return the JSON
    it prints; a child past ``timeout_seconds``, killed or answering no JSON raises
    :class:`ExtractionFailed` (``timeout``, ``crashed``). Blocking: call it from a thread."""
    # The command is this interpreter and a fixed module; the request is one argument.
    child = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", module, json.dumps(request)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_environment(),
        start_new_session=True,  # its own process group: Tesseract dies with it
    )
    try:
        out, err = child.communicate(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        _kill(child)
        raise ExtractionFailed(
            "timeout", f"the {what} took longer than {timeout_seconds} s"
        ) from None
    except BaseException:
        _kill(child)
        raise
    finally:
        _kill_group(child.pid)
    if child.returncode != 0:
        last = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
        if child.returncode == -signal.SIGXCPU:
            raise ExtractionFailed("timeout", f"the {what} ran out of CPU time")
        raise ExtractionFailed("crashed", f"exit status {child.returncode} {last[0][:300]}")
    try:
        answer: dict[str, Any] = json.loads(out)
    except ValueError:
        raise ExtractionFailed("crashed", f"the {what} answered no JSON") from None
    return answer


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _kill(child: subprocess.Popen[bytes]) -> None:
    _kill_group(child.pid)
    child.kill()
    child.communicate()
