"""A ``multipart/form-data`` body read as it arrives (python-multipart's streaming
parser over ``request.stream()``), so an upload's file goes to the blob store chunk by
chunk and is never held whole in memory.

Limits: the whole body may exceed the upload limit by :data:`ENVELOPE_BYTES` (the text
fields and part headers around the file), a text field holds at most
:data:`MAX_FIELD_BYTES`, a form at most :data:`MAX_PARTS` parts. A body that is not valid
multipart is a 400 ``malformed_multipart``. A text field holding a control character
(``hub.kernel.hygiene``'s rule for JSON bodies, which never sees a multipart one) is a 422
``validation_failed`` naming the field, so no NUL ever reaches PostgreSQL.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from hub.content.services.storing import FilePart, TextField, UploadTooLarge
from hub.kernel.errors import Invalid
from hub.kernel.hygiene import CONTROL_CHARACTERS, CONTROL_MESSAGE
from hub.kernel.problems import field_invalid

ENVELOPE_BYTES = 1024 * 1024
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 200

#: What the WHATWG form encoding escapes in a file name (browsers and httpx alike).
_FORM_ESCAPES = (("%22", '"'), ("%0D", "\r"), ("%0A", "\n"), ("%0d", "\r"), ("%0a", "\n"))


def malformed(detail: str) -> Invalid:
    return Invalid(detail, code="malformed_multipart", status_code=400)


def boundary_of(content_type: str) -> bytes:
    """The boundary of a ``multipart/form-data`` content type (415 for anything else)."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data":
        raise Invalid(
            "Send the file as multipart/form-data.",
            code="unsupported_media_type",
            status_code=415,
        )
    if not boundary:
        raise malformed("The multipart body names no boundary.")
    return boundary


def _decode_file_name(raw: bytes) -> str:
    name = raw.decode("utf-8", errors="replace")
    for escaped, char in _FORM_ESCAPES:
        name = name.replace(escaped, char)
    return name


class _FilePart:
    def __init__(self, form: MultipartForm, name: str, file_name: str) -> None:
        self._form = form
        self._name = name
        self._file_name = file_name

    @property
    def name(self) -> str:
        return self._name

    @property
    def file_name(self) -> str:
        return self._file_name

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            kind, value = await self._form.event()
            if kind == "end":
                self._form.in_file = False
                return
            yield value


class MultipartForm:
    """``services.storing.UploadForm`` over an ASGI body stream."""

    def __init__(
        self, stream: AsyncIterator[bytes], boundary: bytes, *, max_upload_bytes: int
    ) -> None:
        self._stream = stream
        self._max_body = max_upload_bytes + ENVELOPE_BYTES
        self._upload_limit = max_upload_bytes
        self._received = 0
        self._events: deque[tuple[str, Any]] = deque()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._parts = 0
        self._finished = False
        self.in_file = False
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
            },
        )

    # parser callbacks (synchronous, during write)
    def _on_part_begin(self) -> None:
        self._headers = {}

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[bytes(self._header_name).strip().lower()] = bytes(self._header_value).strip()
        self._header_name.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        self._events.append(("part", dict(self._headers)))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        piece = bytes(data[start:end])
        if self._events and self._events[-1][0] == "data":
            self._events[-1] = ("data", self._events[-1][1] + piece)
        else:
            self._events.append(("data", piece))

    def _on_part_end(self) -> None:
        self._events.append(("end", None))

    async def _read(self) -> None:
        """Feed the parser one more chunk of the body (or tell it the body ended)."""
        try:
            chunk = await anext(self._stream)
        except StopAsyncIteration:
            chunk = b""
        if not chunk:
            self._finished = True
            try:
                self._parser.finalize()
            except MultipartParseError:
                raise malformed("The multipart body is incomplete.") from None
            return
        self._received += len(chunk)
        if self._received > self._max_body:
            raise UploadTooLarge(
                f"The file exceeds the upload limit of {self._upload_limit} bytes.",
                extra={"limit": self._upload_limit},
            )
        try:
            self._parser.write(chunk)
        except MultipartParseError:
            raise malformed("The multipart body is malformed.") from None

    async def _next_event_or_none(self) -> tuple[str, Any] | None:
        while not self._events:
            if self._finished:
                return None
            await self._read()
        return self._events.popleft()

    async def event(self) -> tuple[str, Any]:
        """The next parser event inside a part, reading the body as far as needed."""
        found = await self._next_event_or_none()
        if found is None:
            raise malformed("The multipart body ended in the middle of a part.")
        return found

    async def next_part(self) -> TextField | FilePart | None:
        while self.in_file:  # the previous file was not read to its end: skip the rest
            kind, _ = await self.event()
            if kind == "end":
                self.in_file = False
        found = await self._next_event_or_none()
        if found is None:
            return None
        kind, headers = found
        if kind != "part":
            raise malformed("The multipart body is malformed.")
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise malformed(f"A form has at most {MAX_PARTS} parts.")
        disposition, options = parse_options_header(headers.get(b"content-disposition", b""))
        raw_name = options.get(b"name")
        if disposition != b"form-data" or raw_name is None:
            raise malformed("A part lacks its form-data name.")
        name = raw_name.decode("utf-8", errors="replace")
        if b"filename" in options:
            self.in_file = True
            return _FilePart(self, name, _decode_file_name(options[b"filename"]))
        value = bytearray()
        while True:
            kind, data = await self.event()
            if kind == "end":
                break
            value += data
            if len(value) > MAX_FIELD_BYTES:
                raise malformed(f"The field {name!r} exceeds {MAX_FIELD_BYTES} bytes.")
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            raise malformed(f"The field {name!r} is not UTF-8.") from None
        if CONTROL_CHARACTERS.search(text):
            raise field_invalid(name, CONTROL_MESSAGE, detail=f"{name} {CONTROL_MESSAGE}.")
        return TextField(name=name, value=text)
