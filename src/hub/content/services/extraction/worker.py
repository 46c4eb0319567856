"""The extraction child process: ``python -m hub.content.services.extraction.worker
REQUEST`` reads one file and prints one JSON answer on stdout.

It bounds itself before touching the file: its address space (RLIMIT_AS, so a parser that
balloons gets a MemoryError or dies, never the worker), its CPU time, the size of files it
may write (Tesseract's temporary files) and no core dumps. The parent (``sandbox``) bounds
its wall time and kills its whole process group (Tesseract included) past it.

REQUEST is JSON: ``path``, ``media_type``, ``memory_mb``, ``cpu_seconds``, ``languages``,
``barcode_pages``. The answer: ``{"status", "text", "truncated", "ocr", "barcodes"}`` (the
fingerprint is the parent's work: numpy would slow every child's start and count against
its memory bound) or, for a file it refuses or cannot read, ``{"error": code, "detail":
text}``.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path
from typing import Any

from hub.content.domain.extraction import (
    MIN_TEXT_LAYER_CHARS,
    OCR_UNAVAILABLE,
    READY,
    UNSUPPORTED,
    Bounds,
    clean_extracted,
    extractor_for,
)
from hub.content.services.extraction import barcodes, formats, ocr
from hub.content.services.extraction.formats import Refused

MIB = 1024 * 1024
#: Largest file the child may write (Tesseract's images and outputs).
MAX_WRITE_BYTES = 512 * MIB


def limit(memory_mb: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * MIB, memory_mb * MIB))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_WRITE_BYTES, MAX_WRITE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def extract(path: Path, media_type: str, languages: str, bounds: Bounds) -> tuple[str, str, bool]:
    """``(status, raw text, whether OCR produced it)``."""
    kind = extractor_for(media_type)
    if kind is None:
        return UNSUPPORTED, "", False
    if kind == "text":
        return READY, formats.plain(path), False
    if kind == "csv":
        return READY, formats.table(path), False
    if kind == "html":
        return READY, formats.html(path), False
    if kind == "eml":
        return READY, formats.eml(path), False
    if kind == "docx":
        return READY, formats.docx(path, bounds), False
    if kind == "pptx":
        return READY, formats.pptx(path, bounds), False
    if kind == "odf":
        return READY, formats.odf(path, bounds), False
    if kind == "xlsx":
        return READY, formats.xlsx(path, bounds), False
    if kind == "image":
        image = ocr.open_image(path, bounds)  # the bomb check runs with or without OCR
        langs = ocr.languages(languages)
        if langs is None:
            return OCR_UNAVAILABLE, "", False
        return READY, ocr.read_image(image, langs), True
    # pdf
    text, pages = formats.pdf_text(path, bounds)
    if len("".join(text.split())) >= MIN_TEXT_LAYER_CHARS:
        return READY, text, False
    langs = ocr.languages(languages)
    if langs is None:
        return OCR_UNAVAILABLE, text, False
    return READY, ocr.read_pdf(path, pages, langs, bounds), True


def answer(request: dict[str, Any]) -> dict[str, Any]:
    try:
        status, raw, used_ocr = extract(
            Path(request["path"]), request["media_type"], request["languages"], Bounds()
        )
    except Refused as exc:
        return {"error": exc.code, "detail": str(exc)}
    except MemoryError:
        return {"error": "memory", "detail": "the extraction ran out of its memory bound"}
    except RecursionError:
        return {"error": "corrupt", "detail": "the file nests too deeply"}
    except Exception as exc:  # any parser's failure on a malformed file
        return {"error": "corrupt", "detail": f"{type(exc).__name__}: {exc}"[:500]}
    text, truncated = clean_extracted(raw)
    return {
        "status": status,
        "text": text,
        "truncated": truncated,
        "ocr": used_ocr,
        "barcodes": read_barcodes(request),
    }


def read_barcodes(request: dict[str, Any]) -> list[tuple[int, str]]:
    """The barcodes of a PDF's or an image's first ``barcode_pages`` pages; none when
    that is 0, and none when they cannot be read (the text stands on its own)."""
    pages = int(request.get("barcode_pages", 0))
    kind = extractor_for(request["media_type"])
    if pages <= 0 or kind not in ("pdf", "image"):
        return []
    try:
        return barcodes.read(Path(request["path"]), kind, pages, Bounds())
    except Exception:  # a page zxing or Pillow cannot read, a bomb: no barcodes
        return []


def main() -> int:
    request = json.loads(sys.argv[1])
    limit(int(request["memory_mb"]), int(request["cpu_seconds"]))
    os.environ["OMP_THREAD_LIMIT"] = "1"  # Tesseract: one thread (and little address space)
    result = answer(request)
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
