"""File responses (RFC 9110): a strong ETag (the SHA-256), ``If-None-Match`` → 304,
one byte range → 206 (``If-Range`` honoured), an unsatisfiable range → 416, and a
Content-Disposition (RFC 6266) with an ASCII fallback name and the exact one in
``filename*``.

Only a strict single range is parsed (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``): Litestar
has no range support of its own, and RFC 9110 lets a server ignore what it does not
serve, so several ranges, other units or a malformed header get the whole file (200).

Types a browser could run script in (HTML, SVG, XML) are only ever attachments and carry
``Content-Security-Policy: sandbox``; everything is ``nosniff``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Stream

from hub.content.domain.files import can_carry_script, may_show_inline
from hub.content.services.downloads import Download
from hub.kernel.errors import AppError

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
SANDBOX_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'"


#: What a download route answers besides problems (the file in its own type, not JSON).
FILE_RESPONSES: dict[int, ResponseSpec] = {
    200: ResponseSpec(bytes, media_type="*/*", description="The file, in its sniffed media type."),
    206: ResponseSpec(bytes, media_type="*/*", description="The requested byte range of the file."),
    304: ResponseSpec(None, description="The client's copy (`If-None-Match`) is current."),
}


class RangeNotSatisfiable(AppError):
    status_code = 416
    code = "range_not_satisfiable"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` (end exclusive) of a single satisfiable byte range; None to serve
    the whole file; :class:`RangeNotSatisfiable` when no byte of the file is asked for."""
    if header is None:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None  # several ranges, another unit, or malformed: ignored (RFC 9110 14.2)
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - suffix), size
    start = int(first)
    if last != "" and int(last) < start:
        return None  # an invalid range-spec: ignored
    if start >= size:
        raise _unsatisfiable(size)
    end = size if last == "" else min(int(last) + 1, size)
    return start, end


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(
        "The requested range is outside the file.",
        headers={"Content-Range": f"bytes */{size}"},
        extra={"size": size},
    )


def _entity_tags(header: str) -> list[str]:
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` with the weak comparison RFC 9110 asks for here."""
    if if_none_match is None:
        return False
    tags = _entity_tags(if_none_match)
    return "*" in tags or etag in tags


def content_disposition(kind: str, file_name: str) -> str:
    """RFC 6266: a quoted ASCII fallback (anything else replaced by ``_``) and the exact
    name percent-encoded as UTF-8 in ``filename*`` (RFC 8187)."""
    fallback = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\%' else "_" for c in file_name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


async def serve(
    request: Request[Any, Any, Any],
    download: Download,
    read: Callable[[int, int | None], AsyncIterator[bytes]],
    record: Callable[[], Awaitable[None]],
    *,
    disposition: str | None,
) -> Response[Any]:
    """The response for one file version; ``record`` runs before the bytes are sent
    (full downloads and ranges starting at byte 0; not for 304)."""
    etag = f'"{download.sha256}"'
    script = can_carry_script(download.media_type)
    inline = disposition != "attachment" and may_show_inline(download.media_type)
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": content_disposition(
            "inline" if inline else "attachment", download.file_name
        ),
    }
    if script:
        headers["Content-Security-Policy"] = SANDBOX_CSP
    if not_modified(request.headers.get("if-none-match"), etag):
        return Response(
            content=b"",
            status_code=304,
            headers={k: headers[k] for k in ("ETag", "Cache-Control")},
        )
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != etag:
        wanted = None  # the client's copy is another version: send it all
    span = parse_range(wanted, download.size)
    status = 200
    start, end = 0, download.size
    if span is not None:
        start, end = span
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{download.size}"
    headers["Content-Length"] = str(end - start)
    if start == 0:
        await record()
    return Stream(
        read(start, end) if end > start else _empty(),
        status_code=status,
        headers=headers,
        media_type=download.media_type,
    )


async def _empty() -> AsyncIterator[bytes]:
    return
    yield  # pragma: no cover
