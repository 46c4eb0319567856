"""The PDF-editing child process: ``python -m hub.content.services.pdf_worker REQUEST``
opens the input PDFs, asks ``domain.pdf_pages`` for the plan, writes each output and
prints one JSON answer.

A child for the same reasons as extraction's (``extraction.sandbox``): a hostile PDF that
makes pypdf balloon, loop or crash takes only the child, bounded by the same limits
(address space, CPU time, written bytes) and killed with its group past its wall time.

REQUEST is JSON: ``action`` (``edit``, ``split``, ``merge``), ``inputs`` (paths),
``operations`` (edit) or ``parts`` (split), ``output_dir``, ``memory_mb``, ``cpu_seconds``.
The answer: ``{"outputs": [{"path", "pages"}]}``, or ``{"error": code, "detail", "field"?}``
(``pages`` with ``field``: a page number the document does not have; ``encrypted``,
``too_large``, ``corrupt``, ``memory``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter

from hub.content.domain.pdf_pages import (
    MAX_PAGES,
    PagesInvalid,
    Placed,
    edited,
    merged,
    split_parts,
)
from hub.content.services.extraction.worker import limit


class _Refused(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def _open(path: Path) -> PdfReader:
    reader = PdfReader(path, strict=False)
    if reader.is_encrypted:
        raise _Refused("encrypted", "The PDF is encrypted.")
    if len(reader.pages) > MAX_PAGES:
        raise _Refused("too_large", f"The PDF has more than {MAX_PAGES} pages.")
    return reader


def _write(readers: list[PdfReader], plan: list[Placed], path: Path) -> int:
    writer = PdfWriter()
    for placed in plan:
        page = writer.add_page(readers[placed.source].pages[placed.page])
        if placed.rotation:
            page.rotate(placed.rotation)
    with path.open("wb") as out:
        writer.write(out)
    return len(plan)


def answer(request: dict[str, Any]) -> dict[str, Any]:
    try:
        readers = [_open(Path(p)) for p in request["inputs"]]
        counts = [len(r.pages) for r in readers]
        action = request["action"]
        if action == "edit":
            plans = [edited(request["operations"], counts[0])]
        elif action == "split":
            plans = split_parts(request["parts"], counts[0])
        else:
            plans = [merged(counts)]
        folder = Path(request["output_dir"])
        outputs = []
        for i, plan in enumerate(plans):
            path = folder / f"out-{i}.pdf"
            outputs.append({"path": str(path), "pages": _write(readers, plan, path)})
    except PagesInvalid as exc:
        return {"error": "pages", "field": exc.field, "detail": exc.message}
    except _Refused as exc:
        return {"error": exc.code, "detail": str(exc)}
    except MemoryError:
        return {"error": "memory", "detail": "the PDF needed more memory than allowed"}
    except RecursionError:
        return {"error": "corrupt", "detail": "the PDF nests too deeply"}
    except Exception as exc:  # pypdf's failure on a malformed file
        return {"error": "corrupt", "detail": f"{type(exc).__name__}: {exc}"[:500]}
    return {"outputs": outputs}


def main() -> int:
    request = json.loads(sys.argv[1])
    limit(int(request["memory_mb"]), int(request["cpu_seconds"]))
    sys.stdout.write(json.dumps(answer(request)))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
