"""The OpenAPI document's error responses, security and links, derived from what each route
declares, so a new route is documented correctly without extra work.

Litestar documents what a handler returns; everything it can *refuse* comes from the kernel's
machinery around it, so the kernel writes that part of the document:

- a credential dependency (``principal``, ``token_principal``, ``optional_principal``) or a
  guard marked ``@answers(401, …)`` → 401, and the operation names the schemes it accepts
  (the route's ``security``, else a bearer token or an API key); every other operation says
  ``security: []`` (no credentials);
- a ``permission(...)`` guard → 403 and 404 (the tenancy rule), and 400 when the organisation
  comes from ``?organisationId=`` (documented as a required UUID parameter);
- a request body → 400 (does not match the document), 413 (over ``HUB_MAX_BODY_BYTES``)
  and 422 (a control character in one of its strings, refused by ``hub.kernel.hygiene``);
- a body the handler reads itself from ``request.stream()`` (an upload, never buffered)
  declares its form with ``opt=streamed_body(schema)``: the document gets that request
  body, and 400, 413, 415 (not the declared media type at all) and 422;
- query or header parameters → 400 and 422 (a control character in a value); path
  parameters → 404; a ``cursor`` → 422;
- an ``Idempotency-Key`` header → 400, 409 (in progress) and 422 (reused);
- a rate-limited route (everything under ``/api/v1`` unless ``rate_limit(False)``) → 429.

A route adds only what its own rules can answer: ``opt=problems(409, 422)`` (on a handler,
controller or router; the layers add up). Every error body is one shared ``Problem`` schema
under ``application/problem+json``.

The meaning of 400 and 422 is fixed here: **400** means the request does not match this
document (undecodable JSON, a missing or ill-typed field or parameter, a value outside a
stated limit or pattern); a client that follows the document never gets it. **422** means
the request matches the document but a rule the document cannot state refuses it (a common
password, an unknown permission key, a token or cursor the server did not issue, a
reused ``Idempotency-Key``); its ``code`` names the rule.

Create operations get OpenAPI links to the operations that address what they created (the
new ``id`` fills the next path parameter), so stateful clients and fuzzers reach deep
resources. A request body type may carry an ``example`` class variable (wire form); it is
the request body's example.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import Any, ClassVar, Final, TypeVar

import msgspec
import msgspec.inspect
from litestar import Litestar, Response

# Litestar's struct schema plugin (private module, pinned version): see StrictStructSchemas
from litestar._openapi.schema_generation import SchemaCreator
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.constants import RESERVED_KWARGS
from litestar.enums import ParamType, ScopeType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import (
    Example,
    Link,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)
from litestar.params import ParameterKwarg
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.typing import FieldDefinition

from hub.kernel.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE, Problem
from hub.kernel.ratelimit import OPT_KEY as RATE_LIMIT_OPT
from hub.kernel.web import BEARER_OR_KEY

T = TypeVar("T")

#: Route ``opt`` key of the statuses a route adds (see :func:`problems`).
OPT_KEY: Final = "problems"
#: Route ``opt`` key of a body the handler streams itself (see :func:`streamed_body`).
REQUEST_BODY_OPT: Final = "request_body"
#: Attribute :func:`answers` sets on guards and dependency providers.
_ANSWERS_ATTR: Final = "problem_statuses"
_CREDENTIALS: Final = frozenset({"principal", "token_principal", "optional_principal"})
_IDEMPOTENCY_HEADER: Final = "idempotency-key"

#: What each documented error status means in this API (``code`` values in backquotes).
PROBLEM_DESCRIPTIONS: Final[Mapping[int, str]] = {
    400: "The request does not match this document: undecodable JSON (`malformed_body`), a "
    "missing, ill-typed or out-of-range field, parameter or header (`validation_failed`).",
    401: "Credentials are missing (`authentication_required`), invalid or expired "
    "(`invalid_token`), or the secret given is wrong (`invalid_credentials`, `invalid_code`).",
    403: "Authenticated but not allowed: the role lacks the permission (`permission_denied`), "
    "the action needs a signed-in person or a recent sign-in, or the account is disabled.",
    404: "No such resource, or one in an organisation the caller does not belong to (`not_found`).",
    409: "The current state of the resource refuses the request, or a request with the "
    "same `Idempotency-Key` is still running (`idempotency_key_in_progress`).",
    413: "The request body is larger than the server accepts (`payload_too_large`; an "
    "upload past the upload limit: `upload_too_large`).",
    415: "The request body's media type is not one this operation reads "
    "(`unsupported_media_type`).",
    416: "The requested byte range lies outside the file (`range_not_satisfiable`); "
    "`Content-Range` gives its size.",
    422: "The request matches this document but a rule refuses it; `code` names the rule "
    "(e.g. `weak_password`, `unknown_permission`, `invalid_token`, `invalid_cursor`, "
    "`idempotency_key_reused`, `media_type_not_allowed`).",
    429: "Too many requests (`rate_limited`): retry after `Retry-After` seconds.",
    503: "A service this operation needs is unavailable; retry later.",
    507: "The organisation's storage quota leaves no room for this (`storage_quota_exceeded`).",
}

_EXAMPLE_CODES: Final[Mapping[int, tuple[str, str]]] = {
    400: ("validation_failed", "Validation failed for POST /api/v1/orgs"),
    401: ("authentication_required", "Authentication required."),
    403: ("permission_denied", "Your role in this organisation does not allow this."),
    404: ("not_found", "No such organisation."),
    409: ("conflict", "The resource changed meanwhile."),
    413: ("payload_too_large", "The request body exceeds the limit of 10485760 bytes."),
    415: ("unsupported_media_type", "Send the body as application/json."),
    416: ("range_not_satisfiable", "The requested range is outside the file."),
    422: ("weak_password", "This password is too common."),
    429: ("rate_limited", "Too many requests: retry in 3 s."),
    503: ("service_unavailable", "The server cannot answer at the moment."),
    507: ("storage_quota_exceeded", "The organisation's storage quota leaves no room."),
}

_HEADERS: Final[Mapping[int, tuple[str, str, OpenAPIType]]] = {
    401: ("WWW-Authenticate", "The scheme to authenticate with.", OpenAPIType.STRING),
    429: ("Retry-After", "Seconds to wait before retrying.", OpenAPIType.INTEGER),
}


def problems(*statuses: int) -> dict[str, Any]:
    """Route ``opt`` naming the errors the route's own rules can answer, on top of what the
    kernel derives: ``@post(..., opt=problems(409, 422))``. Unknown statuses fail here."""
    unknown = [s for s in statuses if s not in PROBLEM_DESCRIPTIONS]
    if unknown:
        raise ValueError(
            f"undocumented problem status {unknown}; one of {list(PROBLEM_DESCRIPTIONS)}"
        )
    return {OPT_KEY: frozenset(statuses)}


def answers(*statuses: int) -> Callable[[T], T]:
    """Mark a guard or a dependency provider with the statuses it can answer (a guard that
    authenticates answers 401), so every route using it documents them."""
    declared = problems(*statuses)[OPT_KEY]

    def mark(fn: T) -> T:
        setattr(fn, _ANSWERS_ATTR, declared)
        return fn

    return mark


@dataclass(frozen=True)
class StreamedBody:
    """The request body of a handler that reads it itself (see :func:`streamed_body`)."""

    schema: Schema
    media_type: str
    description: str | None


def streamed_body(
    schema: Schema, *, media_type: str = "multipart/form-data", description: str | None = None
) -> dict[str, Any]:
    """Route ``opt`` documenting a body the handler reads from ``request.stream()`` (so
    Litestar sees no ``data`` parameter and would document no body): ``schema`` is the
    form (a file property is ``type: string, format: binary``), required. The operation
    then also documents 400 and 422 (as for any body), 413 and 415 (a body of another
    media type). Combine with other opts: ``opt={**streamed_body(form), **problems(404)}``."""
    return {REQUEST_BODY_OPT: StreamedBody(schema, media_type, description)}


def declared_by(obj: Any) -> frozenset[int]:
    """The statuses a guard or provider was marked with by :func:`answers`."""
    return frozenset(getattr(obj, _ANSWERS_ATTR, ()))


@dataclass
class RouteContract:
    """What the kernel concluded about one operation."""

    statuses: set[int] = field(default_factory=set)
    #: The security requirements to document ([] = no credentials).
    security: list[dict[str, list[str]]] = field(default_factory=list)
    #: Add a required ``organisationId`` query parameter (tenancy guard without ``org_id``).
    organisation_query: bool = False
    links: dict[str, Link] = field(default_factory=dict)
    example: Any = None
    #: Statuses the handler documents itself (``responses=``): kept as they are.
    declared: set[int] = field(default_factory=set)
    #: A body the handler streams itself (:func:`streamed_body`).
    streamed: StreamedBody | None = None
    #: The handler's ``data`` has a default: a request without a body is accepted.
    body_optional: bool = False


def contract_of(handler: HTTPRouteHandler, route: HTTPRoute, *, prefix: str) -> RouteContract:
    """Derive the statuses and security of one handler from what it declares."""
    contract = RouteContract()
    statuses = contract.statuses
    path_params = set(route.path_parameters)
    signature = handler.parsed_fn_signature.parameters
    dependencies = handler.resolve_dependencies()

    # Every name the handler asks for, through its dependencies' own parameters.
    reached: set[str] = set()
    pending = list(signature)
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        provider = dependencies.get(name)
        if provider is not None:
            statuses |= declared_by(provider.dependency)
            pending.extend(provider.parsed_fn_signature.parameters)

    authenticates = bool(reached & _CREDENTIALS)
    for guard in handler.resolve_guards():
        marked = declared_by(guard)
        statuses |= marked
        authenticates = authenticates or 401 in marked
        if hasattr(guard, "permission") and "org_id" not in path_params:
            statuses.add(400)
            contract.organisation_query = True
    if authenticates:
        statuses.add(401)
        security = handler.resolve_security()
        contract.security = list(security) if security else list(BEARER_OR_KEY)
        if "optional_principal" in reached and not reached & {"principal", "token_principal"}:
            contract.security = [{}, *contract.security]

    if "data" in reached:
        # 422 too: the kernel refuses control characters in any string of any body
        # (hub.kernel.hygiene), a rule a JSON schema does not state.
        statuses |= {400, 413, 422}
        data = signature.get("data")
        if data is not None:
            contract.example = _example_of(data.annotation)
            contract.body_optional = data.has_default
    streamed = handler.opt.get(REQUEST_BODY_OPT)
    if isinstance(streamed, StreamedBody):
        contract.streamed = streamed
        statuses |= {400, 413, 415, 422}
    parameters = {
        name
        for name in signature
        if name not in dependencies and name not in RESERVED_KWARGS and name not in path_params
    }
    if parameters:
        statuses |= {400, 422}  # 422: a control character in a query value (hygiene)
    if path_params:
        statuses.add(404)
    if "cursor" in parameters:
        statuses.add(422)
    if any(_header_name(signature[name]) == _IDEMPOTENCY_HEADER for name in parameters):
        statuses |= {400, 409, 422}
    if _rate_limited(handler, route, prefix):
        statuses.add(429)
    for layer in handler.ownership_layers:
        statuses |= set((layer.opt or {}).get(OPT_KEY, ()))
    return contract


def _header_name(definition: Any) -> str | None:
    kwarg = getattr(definition, "kwarg_definition", None)
    if not isinstance(kwarg, ParameterKwarg) or kwarg.param_type is not ParamType.HEADER:
        return None
    return kwarg.name.lower() if kwarg.name else None


def _rate_limited(handler: HTTPRouteHandler, route: HTTPRoute, prefix: str) -> bool:
    if handler.opt.get(RATE_LIMIT_OPT) is False:
        return False
    return route.path == prefix or route.path.startswith(prefix + "/")


def _example_of(annotation: Any) -> Any:
    example = getattr(annotation, "example", None)
    return example if isinstance(example, dict) else None


def _struct_of(handler: HTTPRouteHandler) -> type[msgspec.Struct] | None:
    returned = handler.parsed_fn_signature.return_type
    if returned.is_subclass_of(Response) and returned.inner_types:
        returned = returned.inner_types[0]
    annotation = returned.annotation
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return annotation
    return None


def _links(
    operations: list[tuple[HTTPRoute, HTTPRouteHandler, str]],
) -> dict[int, dict[str, Link]]:
    """Links from each create operation (POST answering 201 with an ``id``) to every
    operation whose path is the collection's plus one parameter — what the new id names."""
    links: dict[int, dict[str, Link]] = {}
    for route, handler, method in operations:
        if method != "POST" or handler.status_code != 201:
            continue
        struct = _struct_of(handler)
        if struct is None or "id" not in struct.__struct_fields__:
            continue
        base = route.path_format.rstrip("/")
        for target_route, target, _ in operations:
            target_path = target_route.path_format
            if not target_path.startswith(base + "/{") or not isinstance(target.operation_id, str):
                continue
            new = set(target_route.path_parameters) - set(route.path_parameters)
            if len(new) != 1 or not set(route.path_parameters) <= set(target_route.path_parameters):
                continue
            (param,) = new
            if not target_path.startswith(f"{base}/{{{param}}}"):
                continue
            parameters: dict[str, Any] = {
                f"path.{name}": f"$request.path.{name}" for name in route.path_parameters
            }
            parameters[f"path.{param}"] = "$response.body#/id"
            links.setdefault(id(handler), {})[target.operation_id] = Link(
                operation_id=target.operation_id,
                parameters=parameters,
                description=f"The created resource's `id` is `{param}`.",
            )
    return links


class _DocumentedOperation(Operation):
    """Litestar's operation with the kernel's derived parts applied as it is created.

    A subclass per handler carries that handler's :class:`RouteContract` (Litestar builds
    operations through the handler's ``operation_class``)."""

    contract: ClassVar[RouteContract]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        contract = self.contract
        self.security = contract.security
        # Litestar adds a 400 to anything with parameters; a malformed path parameter is a
        # 404 here (it matches no route), so only the derived and declared errors stay.
        kept = contract.statuses | contract.declared
        self.responses = {
            status: response
            for status, response in (self.responses or {}).items()
            if int(status) < 400 or int(status) in kept
        }
        for status, response in self.responses.items():
            if isinstance(response, OpenAPIResponse):
                _complete_response(int(status), response, contract)
        if self.parameters:
            self.parameters = [_not_nullable(p) for p in self.parameters]
        if contract.organisation_query and not any(
            isinstance(p, Parameter) and p.name == "organisationId" for p in self.parameters or []
        ):
            self.parameters = [
                *(self.parameters or []),
                Parameter(
                    name="organisationId",
                    param_in="query",
                    required=True,
                    schema=Schema(type=OpenAPIType.STRING, format="uuid"),  # type: ignore[arg-type]
                    description="The organisation the request acts in.",
                ),
            ]
        if contract.streamed is not None:
            streamed = contract.streamed
            self.request_body = RequestBody(
                content={streamed.media_type: OpenAPIMediaType(schema=streamed.schema)},
                description=streamed.description,
                required=True,
            )
        if contract.example is not None and isinstance(self.request_body, RequestBody):
            for media in self.request_body.content.values():
                media.example = contract.example
        if contract.body_optional and isinstance(self.request_body, RequestBody):
            self.request_body.required = False  # the server takes a request without one
            for media in self.request_body.content.values():
                # ...but not JSON ``null`` for one (hub.kernel.wiring.validate_bodies_strictly).
                media.schema = _without_null(media.schema)


def _without_null(schema: Schema | Reference | None) -> Schema | Reference | None:
    """``oneOf [X, null]`` → ``X``."""
    if not isinstance(schema, Schema) or not schema.one_of:
        return schema
    rest = [s for s in schema.one_of if not (isinstance(s, Schema) and s.type == OpenAPIType.NULL)]
    return rest[0] if len(rest) == 1 else schema


def _complete_response(status: int, response: OpenAPIResponse, contract: RouteContract) -> None:
    if 200 <= status < 300 and contract.links:
        response.links = {**(response.links or {}), **contract.links}
    header = _HEADERS.get(status)
    if header is not None and status in contract.statuses:
        name, description, kind = header
        response.headers = {
            **(response.headers or {}),
            name: OpenAPIHeader(schema=Schema(type=kind), description=description),
        }


def _not_nullable(parameter: Parameter | Reference) -> Parameter | Reference:
    """``oneOf [string, null]`` → ``string`` for an optional text parameter: the server reads
    ``?cursor=null`` as the text ``null``, never as absent, so the document must not offer
    null; the constraints (pattern, length) move onto the string. Other optional types
    (``uuid | None``, ``int | None``) keep their null: the server does read ``null`` as
    absent there."""
    if not isinstance(parameter, Parameter) or not isinstance(parameter.schema, Schema):
        return parameter
    schema = parameter.schema
    branches = schema.one_of or []
    kept = [b for b in branches if not (isinstance(b, Schema) and b.type == OpenAPIType.NULL)]
    if len(branches) != 2 or len(kept) != 1 or not isinstance(kept[0], Schema):
        return parameter
    merged = kept[0]
    if merged.type == OpenAPIType.ARRAY and isinstance(merged.items, Schema):
        return _string_array(parameter, schema, merged, merged.items)
    if merged.type != OpenAPIType.STRING or merged.format is not None:
        return parameter
    for name in ("pattern", "min_length", "max_length", "minimum", "maximum", "description"):
        value = getattr(schema, name)
        if value is not None and getattr(merged, name) is None:
            setattr(merged, name, value)
    parameter.schema = merged
    return parameter


def _string_array(parameter: Parameter, schema: Schema, array: Schema, items: Schema) -> Parameter:
    """A repeated optional text parameter (``list[str] | None`` with
    ``schema_extra={"pattern": ..., "maxItems": ...}``): absent is no list, so null goes;
    the pattern and length limits describe each value, ``maxItems`` the list. Litestar
    cannot check a pattern on a list itself; the handler parses each value strictly."""
    if items.type != OpenAPIType.STRING or items.format is not None:
        return parameter
    for name in ("pattern", "min_length", "max_length"):
        value = getattr(schema, name)
        if value is not None and getattr(items, name) is None:
            setattr(items, name, value)
    for name in ("max_items", "min_items", "description"):
        value = getattr(schema, name)
        if value is not None and getattr(array, name) is None:
            setattr(array, name, value)
    parameter.schema = array
    return parameter


def _problem_spec(status: int) -> ResponseSpec:
    code, detail = _EXAMPLE_CODES[status]
    return ResponseSpec(
        data_container=Problem,
        media_type=PROBLEM_MEDIA_TYPE,
        description=PROBLEM_DESCRIPTIONS[status],
        generate_examples=False,
        examples=[
            Example(
                summary=code,
                value={
                    "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
                    "title": HTTPStatus(status).phrase,
                    "status": status,
                    "detail": detail,
                    "code": code,
                    "instance": "/api/v1/orgs",
                    "requestId": "01a229d6e10876dd8e942a4831944286",
                },
            )
        ],
    )


def document_routes(app: Litestar, *, prefix: str) -> None:
    """Give every documented operation of ``app`` its derived problem responses, security,
    links and example. Run once by the composition root, before the document is built
    (it is built on first request, so this costs nothing per test app)."""
    operations: list[tuple[HTTPRoute, HTTPRouteHandler, str]] = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            if handler.resolve_include_in_schema():
                operations.append((route, handler, method))
    links = _links(operations)
    for route, handler, _ in _unique_handlers(operations):
        contract = contract_of(handler, route, prefix=prefix)
        contract.links = links.get(id(handler), {})
        declared = dict(handler.responses or {})
        contract.declared = set(declared)
        handler.responses = {
            **{status: _problem_spec(status) for status in sorted(contract.statuses)},
            **declared,
        }
        handler.operation_class = type(
            f"Operation_{handler.handler_name}",
            (_DocumentedOperation,),
            {"contract": contract},
        )


def _unique_handlers(
    operations: Iterable[tuple[HTTPRoute, HTTPRouteHandler, str]],
) -> list[tuple[HTTPRoute, HTTPRouteHandler, str]]:
    seen: set[int] = set()
    out = []
    for route, handler, method in operations:
        if id(handler) not in seen:
            seen.add(id(handler))
            out.append((route, handler, method))
    return out


class UniformOptions:
    """``OPTIONS`` on any route answers ``204`` with ``Allow`` naming the route's methods,
    the same for everyone (CORS preflights excepted: Litestar's CORS handling answers those).

    Litestar's automatic OPTIONS handler keeps the methods its route had when first built
    (a controller with GET and PATCH on one path, merged under the API router, advertised
    ``GET, OPTIONS``), and it inherits its controller's guards (``OPTIONS /auth/api-keys``
    answered 401). Only OPTIONS requests pass through this wrapper's matching.
    """

    def __init__(self, app: ASGIApp, litestar: Litestar) -> None:
        self.app = app
        self.litestar = litestar
        self._routes: list[tuple[list[tuple[str, str | None]], bytes]] | None = None

    def _table(self) -> list[tuple[list[tuple[str, str | None]], bytes]]:
        if self._routes is None:
            table = []
            for route in self.litestar.routes:
                if not isinstance(route, HTTPRoute):
                    continue
                segments: list[tuple[str, str | None]] = []
                for part in route.path.strip("/").split("/"):
                    param = re.fullmatch(r"\{(\w+)(?::(\w+))?\}", part)
                    if param:
                        segments.append((param[1], param[2] or "str"))
                    else:
                        segments.append((part, None))
                table.append((segments, ", ".join(sorted(route.methods)).encode()))
            # Literal segments before parameters, as Litestar routes them.
            table.sort(key=lambda entry: [kind is not None for _, kind in entry[0]])
            self._routes = table
        return self._routes

    def _allow(self, path: str) -> bytes | None:
        parts = path.strip("/").split("/")
        for segments, allow in self._table():
            if segments and segments[-1][1] == "path":
                if len(parts) < len(segments) - 1:
                    continue
            elif len(parts) != len(segments):
                continue
            if all(_segment_matches(part, seg) for part, seg in zip(parts, segments, strict=False)):
                return allow
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "OPTIONS":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        allow = None if b"access-control-request-method" in headers else self._allow(scope["path"])
        if allow is None:
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [(b"allow", allow)],
            }
        )
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _segment_matches(part: str, segment: tuple[str, str | None]) -> bool:
    name, kind = segment
    if kind is None:
        return part == name
    if kind == "path":
        return True
    if not part:
        return False
    parse = _PARSERS.get(kind)
    if parse is None:
        return True
    try:
        parse(part)
    except ValueError:
        return False
    return True


_PARSERS: Final[Mapping[str, Callable[[str], object]]] = {
    "uuid": uuid.UUID,
    "int": int,
    "float": float,
}


class StrictStructSchemas(StructSchemaPlugin):
    """Litestar's msgspec struct schemas, plus what a *strict* body states.

    A struct declared ``forbid_unknown_fields=True`` refuses any other field (400), so its
    schema says ``additionalProperties: false``: a client (or the contract gate) following
    the document never sends one. Litestar drops the constraints of a list's items
    (``list[Annotated[str, Meta(min_length=1)]]`` came out as ``items: {type: string}``), so
    a schema-valid body could be refused: they are put back on the items here, for every
    struct. A field's ``Meta(extra_json_schema={"extra": {...}})`` carries keywords msgspec
    constraints cannot express (``uniqueItems``). Subclasses Litestar's own plugin (pinned
    version) so everything else stays exactly as it was."""

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        # the component itself (``schema`` may be a reference to it)
        registered = schema_creator.schema_registry.get_schema_for_field_definition(
            field_definition
        )
        config = getattr(field_definition.type_, "__struct_config__", None)
        if config is not None and config.forbid_unknown_fields:
            registered.additional_properties = False
        _constrain_items(field_definition.type_, registered)
        return schema


def _constrain_items(struct: Any, component: Schema) -> None:
    """Give each list property's items the string constraints its type declares, and each
    map property the number of entries its type allows (Litestar drops both)."""
    for info in msgspec.inspect.type_info(struct).fields:  # type: ignore[attr-defined]
        prop = (component.properties or {}).get(info.encode_name)
        if not isinstance(prop, Schema):
            continue
        prop = _bound_entries(info.type, prop)
        assert component.properties is not None
        component.properties[info.encode_name] = prop
        item = _constrained_string_item(info.type)
        if item is None:
            continue
        for target in (prop, *(prop.one_of or ())):
            if isinstance(target, Schema) and isinstance(target.items, Schema):
                # a copy: Litestar may hand one item schema to several properties
                target.items = replace(
                    target.items,
                    min_length=item.min_length,
                    max_length=item.max_length,
                    pattern=item.pattern,
                )


def _bound_entries(t: Any, prop: Schema) -> Schema:
    """``prop`` with ``minProperties``/``maxProperties`` from a ``dict`` field's length
    (optional or not); copies, as Litestar may share a schema between properties."""
    t = _bare(t)
    bounded = [
        m
        for m in map(_bare, t.types if isinstance(t, msgspec.inspect.UnionType) else (t,))
        if isinstance(m, msgspec.inspect.DictType)
        and (m.min_length is not None or m.max_length is not None)
    ]
    if not bounded:
        return prop

    def bound(target: Any) -> Any:
        if isinstance(target, Schema) and target.type == OpenAPIType.OBJECT:
            return replace(
                target, min_properties=bounded[0].min_length, max_properties=bounded[0].max_length
            )
        return target

    prop = bound(prop)
    if prop.one_of:
        prop = replace(prop, one_of=[bound(x) for x in prop.one_of])
    return prop


def _constrained_string_item(t: Any) -> Any | None:
    """The constrained string item type of the list in a field's type (optional or not)."""
    t = _bare(t)
    for member in t.types if isinstance(t, msgspec.inspect.UnionType) else (t,):
        member = _bare(member)
        if isinstance(member, msgspec.inspect.ListType | msgspec.inspect.SetType):
            item = _bare(member.item_type)
            if isinstance(item, msgspec.inspect.StrType) and (
                item.min_length is not None or item.max_length is not None or item.pattern
            ):
                return item
    return None


def _bare(t: Any) -> Any:
    while isinstance(t, msgspec.inspect.Metadata):
        t = t.type
    return t
