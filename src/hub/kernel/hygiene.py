"""Input no schema has to think about: control characters and broken text encodings.

PostgreSQL refuses NUL in text and a body that is not UTF-8 cannot be decoded, so either
used to end in a 500 deep inside a use case. Checked once here for every context:

* a JSON (or MessagePack) body that is not valid UTF-8 is ``400 malformed_body``;
* a string anywhere in a body (values and object keys, at any depth) holding a control
  character other than tab, line feed and carriage return is ``422 validation_failed``
  naming the field (``displayName``, ``members[2].email``): the request matches the
  document (a string), a rule the document does not spell out refuses it — the API's
  meaning of 422, where 400 means "does not match the document";
* the same for each query parameter, and a path holding one names nothing that exists
  (``404 not_found``), by :class:`InputHygieneMiddleware`.

Lone UTF-16 surrogates (``"\\ud800"``) never get this far: msgspec refuses them as
malformed JSON. The body check only walks a decoded body whose raw bytes could hold such a
character (a ``\\u``, ``\\b`` or ``\\f`` escape, or a DEL byte), so ordinary requests
pay one scan of their bytes.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import ClientException, SerializationException
from litestar.types import ASGIApp, HTTPResponseStartEvent, Receive, Scope, Send

from hub.kernel.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE, FieldError, Invalid, Problem

#: C0 controls except tab, LF and CR, and DEL: refused in every string.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_MESSAGE = "must not contain control characters"
ENCODING_MESSAGE = "must be valid UTF-8"
#: Raw JSON that may decode to a control character (raw C0 bytes are malformed JSON).
_JSON_SUSPECT = re.compile(rb"\\[ubf]|\x7f")


def control_character_path(value: Any, path: str = "") -> str | None:
    """The path (``a.b[2].c``) of the first string in ``value`` holding a control
    character, keys included; None when there is none."""
    if isinstance(value, str):
        return path if CONTROL_CHARACTERS.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and CONTROL_CHARACTERS.search(key):
                return where
            found = control_character_path(item, where)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = control_character_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _refuse(path: str, source: str) -> Invalid:
    return Invalid(
        f"{path or source} {CONTROL_MESSAGE}.",
        errors=[FieldError(field=path or source, message=CONTROL_MESSAGE, source=source)],
    )


def _malformed(exc: UnicodeDecodeError) -> ClientException:
    detail = f"not valid UTF-8 (byte {exc.start})"
    error = ClientException(detail=detail)
    # Litestar's own shape for an undecodable body, which hub.kernel.errors reports as
    # malformed_body.
    error.__cause__ = SerializationException(detail)
    return error


class HubRequest(Request[Any, Any, Any]):
    """The application's request class: body decoding with the checks above."""

    async def json(self) -> Any:
        try:
            value = await super().json()
        except UnicodeDecodeError as exc:
            raise _malformed(exc)  # noqa: B904 (its cause is set: see _malformed)
        if _JSON_SUSPECT.search(await self.body()):
            path = control_character_path(value)
            if path is not None:
                raise _refuse(path, "body")
        return value

    async def msgpack(self) -> Any:
        try:
            value = await super().msgpack()
        except UnicodeDecodeError as exc:
            raise _malformed(exc)  # noqa: B904 (its cause is set: see _malformed)
        path = control_character_path(value)
        if path is not None:
            raise _refuse(path, "body")
        return value


class InputHygieneMiddleware:
    """Pure ASGI: a control character in the path (404) or a query parameter (422), or a
    query that is not UTF-8 (400), is answered before any routing, so no route, search or
    token lookup ever receives one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            refused = self._check(scope)
            if refused is not None:
                await self._answer(scope, send, refused)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _check(scope: Scope) -> FieldError | None:
        if CONTROL_CHARACTERS.search(scope["path"]):
            return FieldError(field="path", message=CONTROL_MESSAGE, source="path")
        query: bytes = scope.get("query_string", b"")
        # Fast path: without an escape there is nothing to decode (raw controls cannot
        # pass the HTTP parser).
        if b"%" not in query:
            return None
        try:
            pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            return FieldError(field="query", message=ENCODING_MESSAGE, source="query")
        for name, value in pairs:
            if CONTROL_CHARACTERS.search(name):
                return FieldError(field="query", message=CONTROL_MESSAGE, source="query")
            if CONTROL_CHARACTERS.search(value):
                return FieldError(field=name, message=CONTROL_MESSAGE, source="query")
        return None

    @staticmethod
    async def _answer(scope: Scope, send: Send, error: FieldError) -> None:
        if error.source == "path":
            status, code, title, errors = 404, "not_found", "Not Found", None
            detail = "Nothing exists at this path."
        elif error.message == ENCODING_MESSAGE:
            status, code, title, errors = 400, "malformed_query", "Bad Request", [error]
            detail = f"{error.field} {error.message}."
        else:
            status, code, title, errors = 422, "validation_failed", "Unprocessable Content", [error]
            detail = f"{error.field} {error.message}."
        body = msgspec.json.encode(
            Problem(
                type=PROBLEM_TYPE_BASE + code.replace("_", "-"),
                title=title,
                status=status,
                detail=detail,
                code=code,
                request_id=scope.get("state", {}).get("request_id"),
                errors=errors,
            )
        )
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})
