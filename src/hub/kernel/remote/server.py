"""The internal endpoints: each served context's Protocol, method by method, over HTTP.

``POST /internal/v1/<context>/<operation>`` takes the operation's arguments as one JSON
object, calls the implementation wired in this process (the context's facade) and answers
the result's JSON, or the problem+json of the error the facade raised, exactly as a public
route would. Only another part of the deployment may call: a service token
(``hub.kernel.remote.tokens``) is required, and nothing here is in the public OpenAPI
document; ``GET /internal/v1/openapi.json`` describes these endpoints instead (service
token required too). The reverse proxy in front of the hub never routes ``/internal``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

import hub
from hub.kernel.acting import acting_scope
from hub.kernel.errors import AppError, Unauthorized
from hub.kernel.remote.interface import INTERNAL_PREFIX, Interface, Operation
from hub.kernel.remote.tokens import ServiceTokens
from hub.kernel.remote.tracing import ACTING_HEADER, acting_from

_JSON = "application/json"


class InternalRegistry:
    """The interfaces this process serves, and where their implementations are found."""

    def __init__(
        self,
        interfaces: Sequence[Interface],
        services: Mapping[str, Any],
        tokens: ServiceTokens,
    ) -> None:
        self.interfaces = tuple(interfaces)
        self.services = services
        self.tokens = tokens
        self._operations: dict[tuple[str, str], tuple[Interface, Operation]] = {
            (i.context, name): (i, op) for i in interfaces for name, op in i.operations.items()
        }

    def find(self, context: str, operation: str) -> tuple[Interface, Operation]:
        found = self._operations.get((context, operation))
        if found is None:
            raise AppError(
                f"This process serves no operation {context}.{operation}.",
                code="unknown_operation",
                status_code=404,
            )
        return found

    def authenticate(self, authorization: str | None) -> str:
        scheme, _, credential = (authorization or "").partition(" ")
        caller = self.tokens.verify(credential.strip()) if scheme.lower() == "service" else None
        if caller is None:
            raise Unauthorized(
                "A current service token is required (Authorization: Service <token>).",
                code="invalid_service_token",
                headers={"WWW-Authenticate": "Service"},
            )
        return caller


def internal_handlers(registry: InternalRegistry) -> list[HTTPRouteHandler]:
    """The route handlers of the internal API (empty when this process serves none)."""
    if not registry.interfaces:
        return []

    @post(
        INTERNAL_PREFIX + "/{context:str}/{operation:str}",
        include_in_schema=False,
        status_code=200,
        opt={"internal": True},
    )
    async def call(
        request: Request[Any, Any, Any], context: FromPath[str], operation: FromPath[str]
    ) -> Response[bytes]:
        registry.authenticate(request.headers.get("authorization"))
        interface, op = registry.find(context, operation)
        try:
            params = msgspec.json.decode(await request.body(), type=op.params)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise AppError(
                f"The arguments of {context}.{operation} do not match its signature: {exc}",
                code="malformed_call",
            ) from None
        implementation = registry.services[interface.dependency]
        acting = acting_from(
            request.headers.get(ACTING_HEADER), request.scope.get("state", {}).get("request_id")
        )
        with acting_scope(
            acting.actor_id,
            acting.organisation_id,
            actor_type=acting.actor_type,
            request_id=acting.request_id,
            client_address=acting.client_address,
        ):
            result = await getattr(implementation, op.name)(**op.arguments(params))
        return Response(msgspec.json.encode(result), media_type=_JSON)

    @get(INTERNAL_PREFIX + "/openapi.json", include_in_schema=False, opt={"internal": True})
    async def document(request: Request[Any, Any, Any]) -> Response[bytes]:
        registry.authenticate(request.headers.get("authorization"))
        return Response(
            msgspec.json.encode(internal_openapi(registry.interfaces)), media_type=_JSON
        )

    return [call, document]


def internal_openapi(interfaces: Sequence[Interface]) -> dict[str, Any]:
    """An OpenAPI 3.1 document of the internal endpoints, from the Protocols' type hints."""
    entries = [(i, op) for i in interfaces for op in i.operations.values()]
    types: list[Any] = []
    for _, op in entries:
        types.extend((op.params, op.result))
    refs, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}"
    )
    paths: dict[str, Any] = {}
    for index, (interface, op) in enumerate(entries):
        params_ref, result_schema = refs[2 * index], refs[2 * index + 1]
        paths[interface.path(op.name)] = {
            "post": {
                "operationId": f"{interface.context}.{op.name}",
                "summary": (getattr(interface.protocol, op.name).__doc__ or "")
                .strip()
                .split("\n")[0],
                "tags": [interface.context],
                "x-idempotent": op.idempotent,
                "security": [{"ServiceToken": []}],
                "requestBody": {
                    "required": True,
                    "content": {_JSON: {"schema": params_ref}},
                },
                "responses": {
                    "200": {
                        "description": "The result",
                        "content": {_JSON: {"schema": result_schema}},
                    },
                    "default": {
                        "description": "The error the implementation raised (problem+json)",
                        "content": {"application/problem+json": {"schema": {"type": "object"}}},
                    },
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hub internal API",
            "version": hub.__version__,
            "description": "Each context's public Protocol, served to the hub's other services.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "ServiceToken": {
                    "type": "http",
                    "scheme": "Service",
                    "description": "A short-lived token signed with the service key.",
                }
            },
        },
    }
