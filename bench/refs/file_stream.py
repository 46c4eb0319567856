"""A bare Litestar app streaming a file from disk: the floor for a document download.

``BENCH_FILES`` is a JSON object ``{"name": "/path/to/file"}``, the blob files the hub
serves in the same run (the same bytes on the same disk). ``/files/{name}`` answers with
Litestar's own ``File`` response as it comes (128 KiB chunks read in a worker thread);
``/files-1m/{name}`` reads 1 MiB chunks, the chunk size of the hub's filesystem store.
No authentication, no database, no middleware. Run: ``uvicorn bench.refs.file_stream:app``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from litestar import Litestar, get
from litestar.exceptions import NotFoundException
from litestar.response import File

FILES = {k: Path(v) for k, v in json.loads(os.environ.get("BENCH_FILES", "{}")).items()}


def _path(name: str) -> Path:
    try:
        return FILES[name]
    except KeyError:
        raise NotFoundException() from None


@get("/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/files/{name:str}", sync_to_thread=False)
def file(name: str) -> File:
    return File(_path(name), filename="bench.pdf", media_type="application/pdf")


@get("/files-1m/{name:str}", sync_to_thread=False)
def file_1m(name: str) -> File:
    return File(
        _path(name), filename="bench.pdf", media_type="application/pdf", chunk_size=1024 * 1024
    )


app = Litestar(route_handlers=[health, file, file_1m], debug=False, logging_config=None)
