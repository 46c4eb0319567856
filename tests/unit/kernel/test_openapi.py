"""The served OpenAPI document states every error an operation can answer, its security,
its constraints and its links; the kernel derives them from what each route declares.

These tests read the document of the real application (built without any server: nothing
is connected until a request needs it) and of the kit's example context, which declares
nothing about errors and must come out documented all the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import spec
from litestar.params import FromQuery, JSONBody
from litestar.routes import HTTPRoute

from hub.app import API_PREFIX, create_app, load_settings
from hub.kernel.errors import PROBLEM_MEDIA_TYPE
from hub.kernel.openapi import (
    PROBLEM_DESCRIPTIONS,
    StrictStructSchemas,
    document_routes,
    problems,
    streamed_body,
)
from hub.kernel.pagination import CURSOR_PATTERN, MAX_LIMIT
from hub.kernel.structs import Schema
from hub.kernel.tenancy import permission
from tests.kit_example import bootstrap as kit_example

METHODS = ("get", "put", "post", "patch", "delete")


def build(**kwargs: Any) -> Litestar:
    settings = load_settings(
        environ={},
        env="test",
        database_url="postgresql://nobody@127.0.0.1:1/none",
        redis_url="redis://127.0.0.1:1/0",
    )
    return create_app(settings, configure_logs=False, **kwargs)


@pytest.fixture(scope="module")
def app() -> Litestar:
    return build(extra_contexts=[kit_example.build()])


@pytest.fixture(scope="module")
def doc(app: Litestar) -> dict[str, Any]:
    return app.openapi_schema.to_schema()


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def handlers(app: Litestar) -> Iterator[tuple[HTTPRoute, HTTPRouteHandler]]:
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler, _ in route.route_handler_map.values():
                if handler.resolve_include_in_schema():
                    yield route, handler


def operation_of(doc: dict[str, Any], route: HTTPRoute, handler: HTTPRouteHandler) -> Any:
    item = doc["paths"][route.path_format]
    return next(item[m.lower()] for m in handler.http_methods)


def statuses(op: dict[str, Any]) -> set[int]:
    return {int(s) for s in op["responses"]}


def test_every_operation_has_a_stable_id_tags_and_a_security_statement(
    doc: dict[str, Any],
) -> None:
    ids = [op.get("operationId") for _, _, op in operations(doc)]
    assert all(isinstance(i, str) and i for i in ids)
    assert len(ids) == len(set(ids)), "operation ids must be unique"
    hub_doc = build().openapi_schema.to_schema()
    for path, method, op in operations(hub_doc):
        assert op.get("tags"), f"{method.upper()} {path} has no tag"
    for path, method, op in operations(doc):
        assert "security" in op, f"{method.upper()} {path} does not say what it accepts"
        for requirement in op["security"]:
            assert set(requirement) <= {"BearerToken", "ApiKey"}


def test_every_operation_documents_the_problems_its_declarations_can_produce(
    doc: dict[str, Any],
) -> None:
    """A route that authenticates documents 401, one with path parameters 404, one with a
    body 400 and 413, one with query or header parameters 400, a list 422
    (``invalid_cursor``), every rate-limited one 429 — whatever context it comes from."""
    for path, method, op in operations(doc):
        where = f"{method.upper()} {path}"
        have = statuses(op)
        if op["security"]:
            assert 401 in have, f"{where} authenticates but documents no 401"
        if "{" in path:
            assert 404 in have, f"{where} addresses a resource but documents no 404"
        if "requestBody" in op:
            assert {400, 413} <= have, where
        params = op.get("parameters", [])
        if any(p["in"] in ("query", "header") for p in params):
            assert 400 in have, where
        if any(p["name"] == "cursor" for p in params):
            assert 422 in have, where
        if any(p["name"] == "Idempotency-Key" for p in params):
            assert {400, 409, 422} <= have, where
        if path.startswith(API_PREFIX + "/"):
            assert 429 in have, where


def test_every_tenancy_guarded_route_documents_403_and_404(
    app: Litestar, doc: dict[str, Any]
) -> None:
    guarded = 0
    for route, handler in handlers(app):
        if any(hasattr(g, "permission") for g in handler.resolve_guards()):
            guarded += 1
            op = operation_of(doc, route, handler)
            assert {401, 403, 404} <= statuses(op), op["operationId"]
            assert op["security"], op["operationId"]
    assert guarded >= 10


def test_every_error_response_is_the_shared_problem_under_problem_json(
    doc: dict[str, Any],
) -> None:
    for path, method, op in operations(doc):
        for status, response in op["responses"].items():
            if int(status) < 400:
                continue
            assert int(status) in PROBLEM_DESCRIPTIONS, (path, method, status)
            assert list(response["content"]) == [PROBLEM_MEDIA_TYPE], (path, method, status)
            schema = response["content"][PROBLEM_MEDIA_TYPE]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}, (path, method, status)
    problem = doc["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    assert {"instance", "requestId", "errors"} <= set(problem["properties"])
    field_error = doc["components"]["schemas"]["FieldError"]
    assert set(field_error["properties"]) == {"field", "message", "source"}


def test_the_issue_examples_are_documented(doc: dict[str, Any]) -> None:
    me = doc["paths"][f"{API_PREFIX}/auth/me"]["get"]
    assert {200, 401} <= statuses(me)
    assert me["security"] == [{"BearerToken": []}]
    login = doc["paths"][f"{API_PREFIX}/auth/login"]["post"]
    assert {200, 400, 401, 403, 429} <= statuses(login)
    assert login["security"] == []
    health = doc["paths"]["/health"]["get"]
    assert health["security"] == []


def test_limits_the_server_enforces_are_in_the_document(doc: dict[str, Any]) -> None:
    lists = 0
    for _, _, op in operations(doc):
        params = {p["name"]: p for p in op.get("parameters", [])}
        if "cursor" not in params:
            continue
        lists += 1
        limit = params["limit"]["schema"]
        assert (limit["type"], limit["minimum"], limit["maximum"]) == ("integer", 1, MAX_LIMIT)
        cursor = params["cursor"]["schema"]
        assert cursor["type"] == "string"  # omitted, never null
        assert cursor["pattern"] == CURSOR_PATTERN
        assert cursor["maxLength"] > 0
    assert lists >= 7
    schemas = doc["components"]["schemas"]
    assert schemas["RoleIn"]["properties"]["permissions"]["minItems"] == 1
    assert schemas["ApiKeyIn"]["properties"]["permissions"]["minItems"] == 1
    idem = next(
        p
        for p in doc["paths"][f"{API_PREFIX}/orgs"]["post"]["parameters"]
        if p["name"] == "Idempotency-Key"
    )
    assert idem["schema"]["pattern"]
    assert idem["schema"]["maxLength"] == 255


def test_request_bodies_carry_a_valid_example(app: Litestar, doc: dict[str, Any]) -> None:
    checked = 0
    for route, handler in handlers(app):
        data = handler.parsed_fn_signature.parameters.get("data")
        if data is None or not str(route.path).startswith(API_PREFIX + "/auth"):
            continue
        op = operation_of(doc, route, handler)
        [body] = op["requestBody"]["content"].values()  # JSON, or a provider's form
        example = body["example"]
        msgspec.convert(example, data.annotation)  # the example is a valid body
        checked += 1
    assert checked >= 10


def test_create_operations_link_to_what_they_created(doc: dict[str, Any]) -> None:
    created = doc["paths"][f"{API_PREFIX}/orgs"]["post"]["responses"]["201"]["links"]
    assert created["getOrganisation"]["parameters"] == {"path.org_id": "$response.body#/id"}
    assert {"updateOrganisation", "createRole", "createInvitation"} <= set(created)
    role = doc["paths"][f"{API_PREFIX}/orgs/{{org_id}}/roles"]["post"]["responses"]["201"]
    assert role["links"]["deleteRole"]["parameters"] == {
        "path.org_id": "$request.path.org_id",
        "path.role_id": "$response.body#/id",
    }
    ids = {op["operationId"] for _, _, op in operations(doc)}
    for _, _, op in operations(doc):
        for response in op["responses"].values():
            for link in response.get("links", {}).values():
                assert link["operationId"] in ids


class Thing(Schema):
    name: str


def test_a_new_route_is_documented_from_its_declarations_alone() -> None:
    """What a new context's routes get without writing anything about errors."""

    @post("/orgs/{org_id:uuid}/things", guards=[permission("x.things.write")], sync_to_thread=False)
    def write(data: JSONBody[Thing]) -> Thing:
        return data

    @get("/open", sync_to_thread=False, opt=problems(409))
    def read_open(q: FromQuery[str | None] = None) -> Thing:
        return Thing(name=q or "")

    app = Litestar([write, read_open])
    document_routes(app, prefix="")
    doc = app.openapi_schema.to_schema()
    written = doc["paths"]["/orgs/{org_id}/things"]["post"]
    assert statuses(written) == {201, 400, 401, 403, 404, 413, 422, 429}
    assert written["security"] == [{"BearerToken": []}, {"ApiKey": []}]
    opened = doc["paths"]["/open"]["get"]
    assert statuses(opened) == {200, 400, 409, 422, 429}
    assert opened["security"] == []


def test_a_streamed_body_is_documented_with_its_statuses() -> None:
    """A handler reading ``request.stream()`` has no ``data`` for Litestar to document:
    ``streamed_body`` puts its form in the document, with the statuses a body brings."""
    form = spec.Schema(
        type=spec.OpenAPIType.OBJECT,
        required=["file"],
        properties={"file": spec.Schema(type=spec.OpenAPIType.STRING, format="binary")},  # type: ignore[arg-type]
    )

    @post("/uploads", opt={**streamed_body(form), **problems(507)})
    async def upload() -> None:
        return None

    @post("/plain")
    async def plain() -> None:
        return None

    app = Litestar([upload, plain])
    document_routes(app, prefix="")
    doc = app.openapi_schema.to_schema()
    op = doc["paths"]["/uploads"]["post"]
    assert op["requestBody"] == {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
        "required": True,
    }
    assert statuses(op) == {201, 400, 413, 415, 422, 429, 507}
    assert "requestBody" not in doc["paths"]["/plain"]["post"]


def test_problems_refuses_a_status_the_api_does_not_document() -> None:
    with pytest.raises(ValueError, match="undocumented problem status"):
        problems(418)


def test_problem_descriptions_name_codes_in_backquotes() -> None:
    for status, text in PROBLEM_DESCRIPTIONS.items():
        assert text.endswith("."), status
        for code in re.findall(r"`([^`]+)`", text):
            assert re.fullmatch(r"[a-z_A-Z-]+", code), code


def test_an_optional_body_is_documented_as_optional(doc: dict[str, Any]) -> None:
    """A handler whose ``data`` has a default takes a request without a body; the document
    must say so, or a client (and the gate) would be told otherwise."""
    share = doc["paths"][f"{API_PREFIX}/documents/{{document_id}}/share-links"]["post"]
    assert share["requestBody"]["required"] is False
    note = doc["paths"][f"{API_PREFIX}/documents/{{document_id}}/notes"]["post"]
    assert note["requestBody"]["required"] is True


Word = Annotated[str, msgspec.Meta(min_length=1, max_length=8, pattern="^[a-z]+$")]


class Listing(Schema):
    words: Annotated[list[Word], msgspec.Meta(max_length=3)]
    maybe: list[Word] | None = None
    plain: list[str] = []
    switches: Annotated[dict[str, bool], msgspec.Meta(min_length=1, max_length=4)] = {}
    perhaps: Annotated[dict[str, bool], msgspec.Meta(max_length=2)] | None = None
    open: dict[str, bool] = {}


def test_the_items_of_a_list_and_the_size_of_a_map_keep_their_constraints() -> None:
    """Litestar alone documents ``list[Word]`` as a list of any strings, so a schema-valid
    body (``[""]``) would be refused; the struct plugin puts the items' rules back, on a
    copy (``plain``'s items stay any string)."""

    @post("/listings", sync_to_thread=False)
    def create(data: JSONBody[Listing]) -> Listing:
        return data

    app = Litestar([create], plugins=[StrictStructSchemas()])
    props = app.openapi_schema.to_schema()["components"]["schemas"]["Listing"]["properties"]
    rule = {"type": "string", "minLength": 1, "maxLength": 8, "pattern": "^[a-z]+$"}
    assert props["words"]["items"] == rule
    assert props["words"]["maxItems"] == 3
    (array,) = [s for s in props["maybe"]["oneOf"] if s.get("type") == "array"]
    assert array["items"] == rule
    assert props["plain"]["items"] == {"type": "string"}
    # A map's number of entries, which Litestar drops too.
    assert (props["switches"]["minProperties"], props["switches"]["maxProperties"]) == (1, 4)
    (mapping,) = [s for s in props["perhaps"]["oneOf"] if s.get("type") == "object"]
    assert mapping["maxProperties"] == 2
    assert "maxProperties" not in props["open"]
