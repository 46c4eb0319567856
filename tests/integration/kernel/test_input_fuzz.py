"""Bad bytes in any string of any operation get a 4xx problem, never a 500.

Through a real uvicorn (the bytes travel exactly as a client sends them): every operation
of the OpenAPI document that takes a JSON body gets, in each of its string fields in
turn, a NUL, another control character, a DEL, a lone UTF-16 surrogate and bytes that
are not UTF-8. PostgreSQL refuses NUL in text and cannot store the rest either, so each
used to be a 500 once it reached a query.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest

from hub.app import create_app
from hub.kernel.settings import Settings
from tests.integration.identity.support import API, fetch, login
from tests.integration.identity.support_orgs import Person, create_org, person
from tests.support import LiveServer, problem

MARKER = "\ue000fuzz\ue000"
#: Raw JSON string tokens put where a string belongs, and the answer each must get.
BAD: dict[str, tuple[bytes, str]] = {
    "nul": (b'"a\\u0000b"', "validation_failed"),
    "control": (b'"a\\u0001b"', "validation_failed"),
    "backspace": (b'"a\\bb"', "validation_failed"),
    "delete": (b'"a\x7fb"', "validation_failed"),
    "lone surrogate": (b'"a\\ud800b"', "malformed_body"),
    "not utf-8": (b'"a\xff\xfeb"', "malformed_body"),
}


@pytest.fixture
def fuzz_settings(settings: Settings) -> Settings:
    # No rate limits (hundreds of requests from one address) and cheap password hashing.
    return settings.replace(
        rate_limit_enabled=False, password_hash_time_cost=1, password_hash_memory_kib=1024
    )


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _options(schema: dict[str, Any], spec: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(schema, spec)
    union = schema.get("oneOf") or schema.get("anyOf")
    if union:
        return [o for o in (_resolve(u, spec) for u in union) if o.get("type") != "null"]
    return [schema]


def sample(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """A plausible value for ``schema`` (every property filled, first option of a union)."""
    schema = _options(schema, spec)[0]
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {name: sample(sub, spec) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [sample(schema.get("items", {"type": "string"}), spec)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    fmt = schema.get("format")
    if fmt == "uuid":
        return str(uuid.uuid4())
    if fmt == "email":
        return "fuzz@example.com"
    if fmt == "date-time":
        return "2030-01-01T00:00:00Z"
    return "fuzz"


def string_paths(
    schema: dict[str, Any], spec: dict[str, Any], path: tuple[str | int, ...] = ()
) -> Iterator[tuple[str | int, ...]]:
    """Where a string can go in a value built by :func:`sample`."""
    for option in _options(schema, spec)[:1]:
        kind = option.get("type")
        if kind == "string" and "enum" not in option and "const" not in option:
            yield path
        elif kind == "object" or "properties" in option:
            for name, sub in option.get("properties", {}).items():
                yield from string_paths(sub, spec, (*path, name))
        elif kind == "array":
            yield from string_paths(option.get("items", {}), spec, (*path, 0))


def dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def with_bad_string(value: Any, path: tuple[str | int, ...], bad: bytes) -> bytes:
    """``value`` as JSON with the string at ``path`` replaced by the raw token ``bad``."""
    if not path:
        return bad
    value = msgspec.json.decode(msgspec.json.encode(value))  # a deep copy
    target = value
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = MARKER
    return msgspec.json.encode(value).replace(msgspec.json.encode(MARKER), bad)


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            body = (op.get("requestBody") or {}).get("content", {}).get("application/json")
            if isinstance(op, dict) and body:
                yield method.upper(), path, body["schema"]


async def platform_admin(http: httpx.AsyncClient, database_url: str) -> Person:
    """A signed-in platform administrator, so no guard refuses before the body is read."""
    someone = await person(http, database_url, "owner@example.com")
    await fetch(
        database_url,
        "UPDATE identity.users SET is_platform_admin = true WHERE id = $1",
        uuid.UUID(someone.user_id),
    )
    r = await login(http, someone.email)
    assert r.status_code == 200, r.text
    someone.token = r.json()["accessToken"]
    return someone


async def test_no_string_field_of_any_operation_reaches_a_500(
    fuzz_settings: Settings, clean_state: None, database_url: str
) -> None:
    app = create_app(fuzz_settings, configure_logs=False)
    spec = app.openapi_schema.to_schema()
    fields: set[tuple[str, str, str]] = set()
    named: set[tuple[str, str, str]] = set()
    tried = 0
    with LiveServer(app) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            owner = await platform_admin(http, database_url)
            org = await create_org(http, owner)
            ids = {
                "org_id": org["id"],
                "user_id": owner.user_id,
                "token": "hub_inv_x",
                "key": "document.shared",  # a notification template every organisation has
            }
            for method, template, schema in operations(spec):
                url = template
                for name in (
                    "org_id",
                    "user_id",
                    "role_id",
                    "key_id",
                    "invitation_id",
                    "token",
                    "document_id",
                    "key",
                ):
                    url = url.replace("{" + name + "}", ids.get(name, str(uuid.uuid4())))
                url = url.replace("{number}", "1")
                # Every other id in a path: an unknown one (the route answers 404, which is
                # still never a 500).
                url = re.sub(r"\{[a-z_]+_id\}", lambda _: str(uuid.uuid4()), url)
                assert "{" not in url, url
                value = sample(schema, spec)
                for path in string_paths(schema, spec):
                    field = dotted(path)
                    fields.add((method, template, field))
                    for label, (token, code) in BAD.items():
                        tried += 1
                        r = await http.request(
                            method,
                            url,
                            # routes naming their organisation in the query (any other
                            # route ignores the parameter)
                            params={"organisationId": org["id"]},
                            content=with_bad_string(value, path, token),
                            headers={**owner.auth, "content-type": "application/json"},
                        )
                        where = f"{method} {template} {field} {label}: {r.status_code} {r.text}"
                        assert 400 <= r.status_code < 500, where
                        body = problem(r)
                        if r.status_code == 400:
                            assert body["code"] == code, where
                            if code == "validation_failed":
                                assert body["errors"] == [
                                    {
                                        "field": field,
                                        "message": "must not contain control characters",
                                        "source": "body",
                                    }
                                ], where
                            named.add((method, template, field))
    assert tried > 200
    # Every field of every operation was reached and named (no guard answered first)…
    assert named == fields, sorted(fields - named)
    # …the ones that answered 500 before among them.
    for case in (
        ("POST", f"{API}/auth/login", "email"),
        ("POST", f"{API}/auth/register", "email"),
        ("POST", f"{API}/auth/register", "displayName"),
        ("PATCH", f"{API}/auth/me", "displayName"),
        ("POST", f"{API}/orgs", "name"),
        ("PATCH", f"{API}/orgs/{{org_id}}", "name"),
    ):
        assert case in named, (case, sorted(named))


async def test_query_and_path_refuse_control_characters(
    fuzz_settings: Settings, clean_state: None, database_url: str
) -> None:
    app = create_app(fuzz_settings, configure_logs=False)
    with LiveServer(app) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            owner = await person(http, database_url, "owner@example.com")
            # A control character in a query value is a 422 (the document allows any
            # string; the kernel's rule refuses it), a query that is not UTF-8 a 400
            # (malformed), and a path holding one names nothing that exists (404).
            cases = {
                "/api/v1/users?q=a%00b": ("q", "query", "must not contain control characters"),
                "/api/v1/orgs?cursor=%01": (
                    "cursor",
                    "query",
                    "must not contain control characters",
                ),
                "/api/v1/orgs?x%00=1": ("query", "query", "must not contain control characters"),
            }
            for url, (field, source, message) in cases.items():
                r = await http.get(url, headers=owner.auth)
                assert r.status_code == 422, (url, r.text)
                body = problem(r)
                assert body["code"] == "validation_failed"
                assert body["errors"] == [{"field": field, "message": message, "source": source}]
            r = await http.get("/api/v1/users?q=%ff%fe", headers=owner.auth)
            assert r.status_code == 400, r.text
            assert problem(r)["code"] == "malformed_query"
            assert problem(r)["errors"] == [
                {"field": "query", "message": "must be valid UTF-8", "source": "query"}
            ]
            r = await http.post("/api/v1/invitations/a%00b/accept", headers=owner.auth)
            assert r.status_code == 404, r.text
            assert problem(r)["code"] == "not_found"
            # Tab, line feed and non-ASCII text stay allowed.
            ok = await http.get("/api/v1/orgs?limit=5", headers=owner.auth)
            assert ok.status_code == 200, ok.text
            me = await http.patch(
                f"{API}/auth/me", json={"displayName": "Zoë\tvan\nDijk"}, headers=owner.auth
            )
            assert me.status_code == 200, me.text
            assert me.json()["displayName"] == "Zoë van Dijk"  # identity folds whitespace
