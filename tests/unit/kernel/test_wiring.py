"""The kit's wiring: injection by signature, name clashes refused at start-up, services
factories that name other contexts' interfaces, and sibling dependencies resolved in order."""

from __future__ import annotations

import asyncio
from typing import Any

import click
import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, JSONBody
from litestar.testing import AsyncTestClient
from sqlalchemy import MetaData

from hub.kernel.contexts import ContextModule
from hub.kernel.errors import EXCEPTION_HANDLERS
from hub.kernel.inject import WiringError, inject
from hub.kernel.jobs import job
from hub.kernel.settings import Settings
from hub.kernel.wiring import (
    check_unique,
    resolve_dependencies_in_order,
    validate_bodies_strictly,
    wire,
)


def test_keyword_only_parameters_receive_services_by_name() -> None:
    def handler(event: str, *, accounts: str, clock: str = "default") -> tuple[str, str, str]:
        return event, accounts, clock

    bound = inject(handler, {"accounts": "A", "clock": "C", "other": "O"})
    assert bound("e") == ("e", "A", "default")  # defaults are left alone
    assert inject(lambda event: event, {"accounts": "A"})("e") == "e"


def test_asking_for_an_unknown_service_fails_at_wiring_time() -> None:
    async def job_fn(ctx: object, *, nowhere: object) -> None: ...

    with pytest.raises(WiringError, match="nowhere"):
        inject(job_fn, {"accounts": object()})


def _module(name: str, **kw: Any) -> ContextModule:
    return ContextModule(name=name, metadata=MetaData(schema=name), **kw)


@job("shared.name")
async def _job(ctx: object) -> None: ...


@pytest.mark.parametrize(
    ("first", "second", "what"),
    [
        ({"permissions": [("a.x.read", "")]}, {"permissions": [("a.x.read", "")]}, "permission"),
        ({"jobs": [_job]}, {"jobs": [_job]}, "job"),
        (
            {"cli_commands": [click.Command("tool")]},
            {"cli_commands": [click.Command("tool")]},
            "CLI command",
        ),
        (
            {"dependencies": {"thing": Provide(dict)}},
            {"dependencies": {"thing": Provide(dict)}},
            "dependency",
        ),
        ({}, {"dependencies": {"principal": Provide(dict)}}, "dependency"),
    ],
)
def test_two_contexts_cannot_claim_the_same_name(
    first: dict[str, Any], second: dict[str, Any], what: str
) -> None:
    with pytest.raises(WiringError, match=f"{what} .* declared by both"):
        check_unique([_module("a", **first), _module("b", **second)])


class _Kernel:
    """What ``wire`` touches of the kernel."""

    def __init__(self) -> None:
        self.services: dict[str, Any] = {}
        self.idempotent_writes = object()
        self.settings = Settings()  # HUB_CONTEXTS unset: every context is served here

    def bind(self, module: ContextModule) -> str:
        return f"runtime of {module.name}"


def test_a_services_factory_names_the_interfaces_of_contexts_wired_before_it() -> None:
    def identity_services(rt: str) -> dict[str, Any]:
        return {"identity_api": f"api ({rt})"}

    def content_services(rt: str, *, identity_api: str) -> dict[str, Any]:
        return {"documents": f"documents using {identity_api}"}

    kernel = _Kernel()
    wire(
        kernel,
        [
            _module("identity", services=identity_services),  # type: ignore[arg-type]
            _module("content", services=content_services),
        ],
    )
    assert kernel.services["documents"] == "documents using api (runtime of identity)"

    clash = _Kernel()
    with pytest.raises(WiringError, match="dependency 'documents' is declared by both"):
        wire(
            clash,
            [
                _module("a", services=lambda rt: {"documents": 1}),  # type: ignore[arg-type]
                _module("b", services=lambda rt: {"documents": 2}),
            ],
        )


async def test_sibling_dependencies_are_resolved_in_the_handlers_task() -> None:
    resolve_dependencies_in_order()
    seen: list[asyncio.Task[Any] | None] = []

    async def first() -> str:
        seen.append(asyncio.current_task())
        return "1"

    async def second() -> str:
        seen.append(asyncio.current_task())
        return "2"

    @get("/", dependencies={"a": Provide(first), "b": Provide(second)})
    async def handler(a: NamedDependency[str], b: NamedDependency[str]) -> str:
        seen.append(asyncio.current_task())
        return a + b

    async with AsyncTestClient(Litestar([handler])) as client:
        r = await client.get("/")
    assert r.text == "12"
    assert len(seen) == 3
    assert seen[0] is seen[1] is seen[2]  # no task group: one task did it all


class _Flags(msgspec.Struct, rename="camel"):
    restricted: bool
    max_items: int = 1
    roles: list[str] = msgspec.field(default_factory=list)


def _roles() -> str:
    return "a service named like a body field"


@post("/flags", sync_to_thread=False, dependencies={"roles": Provide(_roles, sync_to_thread=False)})
def _flags(data: JSONBody[_Flags], page: FromQuery[int] = 1) -> dict[str, Any]:
    return {"restricted": data.restricted, "maxItems": data.max_items, "page": page}


async def test_bodies_are_decoded_as_strictly_as_the_document_states() -> None:
    """Litestar's lax conversion would take ``0`` for ``false`` and ``"5"`` for ``5`` in
    a JSON body, which the OpenAPI document does not allow."""
    validate_bodies_strictly()
    app = Litestar([_flags], exception_handlers=EXCEPTION_HANDLERS)
    async with AsyncTestClient(app) as client:
        ok = await client.post("/flags?page=2", json={"restricted": True, "maxItems": 3})
        assert (ok.status_code, ok.json()) == (201, {"restricted": True, "maxItems": 3, "page": 2})
        for body, field in (
            ({"restricted": 0}, "restricted"),
            ({"restricted": False, "maxItems": "5"}, "maxItems"),
            ({"restricted": False, "roles": [1]}, "roles"),  # a 400, not a 500
        ):
            r = await client.post("/flags", json=body)
            assert r.status_code == 400, r.text
            assert field in r.text


@post("/optional", sync_to_thread=False)
def _optional(data: JSONBody[_Flags | None] = None) -> dict[str, Any]:
    return {"sent": data is not None, "maxItems": data.max_items if data else None}


async def test_an_optional_body_may_be_left_out_but_not_sent_as_null() -> None:
    """``Struct | None`` documents an optional object body: no body at all is fine, a body
    is checked strictly, and JSON ``null`` is not "no body" (Litestar decodes both to
    None)."""
    validate_bodies_strictly()
    app = Litestar([_optional], exception_handlers=EXCEPTION_HANDLERS)
    async with AsyncTestClient(app) as client:
        none = await client.post("/optional")
        assert (none.status_code, none.json()) == (201, {"sent": False, "maxItems": None})
        some = await client.post("/optional", json={"restricted": True, "maxItems": 2})
        assert (some.status_code, some.json()) == (201, {"sent": True, "maxItems": 2})
        for raw in (b"null", b" null\n"):
            r = await client.post(
                "/optional", content=raw, headers={"content-type": "application/json"}
            )
            assert r.status_code == 400, r.text
            assert "null" in r.text
        lax = await client.post("/optional", json={"restricted": True, "maxItems": "2"})
        assert lax.status_code == 400
        assert "maxItems" in lax.text


async def test_an_integral_json_number_is_an_integer() -> None:
    """JSON Schema counts ``3.0`` as an integer; ``3.5`` and ``"3"`` are not."""
    validate_bodies_strictly()
    app = Litestar([_flags], exception_handlers=EXCEPTION_HANDLERS)
    async with AsyncTestClient(app) as client:
        ok = await client.post(
            "/flags",
            content=b'{"restricted": true, "maxItems": 3.0}',
            headers={"content-type": "application/json"},
        )
        assert (ok.status_code, ok.json()["maxItems"]) == (201, 3)
        for bad in (b"3.5", b'"3"'):
            r = await client.post(
                "/flags",
                content=b'{"restricted": true, "maxItems": ' + bad + b"}",
                headers={"content-type": "application/json"},
            )
            assert r.status_code == 400, r.text
            assert "maxItems" in r.text
