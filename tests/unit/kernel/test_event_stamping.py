"""``uow.publish`` stamps actor, organisation and correlation id from the request."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, ClassVar, cast

import structlog
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.testing import AsyncTestClient

from hub.kernel.acting import acting_scope, bind_organisation, current_actor
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import Unauthorized
from hub.kernel.events import IntegrationEvent
from hub.kernel.logging import RequestContextMiddleware
from hub.kernel.outbox import outbox_of
from hub.kernel.security import Principal, security_dependencies

USER = uuid.UUID("0190c3d2-8a4b-7c1e-9f00-000000000001")
OTHER_USER = uuid.UUID("0190c3d2-8a4b-7c1e-9f00-000000000002")
ORG = uuid.UUID("0190c3d2-8a4b-7c1e-9f00-0000000000a1")
KEY_ORG = uuid.UUID("0190c3d2-8a4b-7c1e-9f00-0000000000a2")
OTHER_ORG = uuid.UUID("0190c3d2-8a4b-7c1e-9f00-0000000000a3")


class Stamped(IntegrationEvent, frozen=True):
    event_type: ClassVar[str] = "content.stamped_probe"
    note: str = ""


def _uow() -> UnitOfWork:
    # publish() only queues: no session is opened, so no database is needed.
    return UnitOfWork(cast(Any, None), outbox_of("content"))


def _publish(event: IntegrationEvent) -> IntegrationEvent:
    uow = _uow()
    uow.publish(event)
    [stamped] = uow.pending_events
    return stamped


def test_publish_in_a_request_scope_fills_actor_organisation_and_correlation() -> None:
    with (
        acting_scope(USER, ORG),
        structlog.contextvars.bound_contextvars(request_id="req-7"),
    ):
        event = _publish(Stamped())
    assert (event.actor_id, event.organisation_id, event.correlation_id) == (USER, ORG, "req-7")


def test_explicit_values_win_over_the_request() -> None:
    with (
        acting_scope(USER, ORG),
        structlog.contextvars.bound_contextvars(request_id="req-7"),
    ):
        event = _publish(
            Stamped(actor_id=OTHER_USER, organisation_id=OTHER_ORG, correlation_id="mine")
        )
        half = _publish(Stamped(actor_id=OTHER_USER))
    assert (event.actor_id, event.organisation_id, event.correlation_id) == (
        OTHER_USER,
        OTHER_ORG,
        "mine",
    )
    assert (half.actor_id, half.organisation_id) == (OTHER_USER, ORG)


def test_outside_any_request_nothing_is_stamped() -> None:
    event = _publish(Stamped())
    assert (event.actor_id, event.organisation_id, event.correlation_id) == (None, None, None)
    with acting_scope(USER):
        inner = _publish(Stamped())
    after = _publish(Stamped())
    assert (inner.actor_id, inner.organisation_id) == (USER, None)
    assert (after.actor_id, after.organisation_id) == (None, None)  # the scope ended


# --------------------------------------------------------------- through Litestar


class _Authenticator:
    """Stands in for the kernel's: maps the raw credential to a principal."""

    def __init__(self, principals: Mapping[str, Principal]) -> None:
        self.principals = principals

    async def authenticate(
        self,
        authorization: str | None,
        api_key: str | None,
        *,
        check_revocation: bool = True,
        scope: Mapping[str, Any] | None = None,
    ) -> Principal:
        principal = self.principals.get(authorization or api_key or "")
        if principal is None:
            raise Unauthorized("no", code="invalid_token")
        return principal

    async def identify(self, scope: Mapping[str, Any]) -> Principal | None:
        headers = dict(scope["headers"])
        raw = headers.get(b"authorization") or headers.get(b"x-api-key")
        if raw is None:
            return None
        return await self.authenticate(raw.decode(), None)

    async def check_revocation(
        self, principal: Principal, scope: Mapping[str, Any] | None = None
    ) -> None:
        return None


async def _sibling() -> str:
    """A second dependency: Litestar then resolves both in child tasks of a task group."""
    return "x"


def _as_json(event: IntegrationEvent) -> dict[str, str | None]:
    return {
        "actor": str(event.actor_id) if event.actor_id else None,
        "organisation": str(event.organisation_id) if event.organisation_id else None,
        "correlation": event.correlation_id,
    }


@get("/orgs/{org_id:uuid}/probe", dependencies={"sibling": Provide(_sibling)})
async def org_probe(
    org_id: FromPath[uuid.UUID],
    principal: NamedDependency[Principal],
    sibling: NamedDependency[str],
) -> dict[str, Any]:
    return _as_json(_publish(Stamped(note=sibling)))


@get("/probe", dependencies={"sibling": Provide(_sibling)})
async def probe(
    optional_principal: NamedDependency[Principal | None], sibling: NamedDependency[str]
) -> dict[str, Any]:
    return _as_json(_publish(Stamped(note=sibling)))


@get("/probe/elsewhere", dependencies={"sibling": Provide(_sibling)})
async def probe_elsewhere(
    principal: NamedDependency[Principal], sibling: NamedDependency[str]
) -> dict[str, Any]:
    bind_organisation(OTHER_ORG)  # e.g. an organisation named in the body, bound by a guard
    return _as_json(_publish(Stamped(note=sibling)))


def _app() -> Litestar:
    principals = {
        "Bearer user": Principal(user_id=USER),
        "key": Principal(user_id=OTHER_USER, api_key_id=uuid.uuid4(), organisation_id=KEY_ORG),
    }
    app = Litestar(
        route_handlers=[org_probe, probe, probe_elsewhere],
        dependencies=security_dependencies(),
        state=State({"kernel": SimpleNamespace(security=_Authenticator(principals))}),
    )
    app.asgi_handler = RequestContextMiddleware(app.asgi_handler)
    return app


async def test_the_principal_dependency_stamps_events_of_its_request() -> None:
    async with AsyncTestClient(app=_app()) as client:
        r = await client.get(f"/orgs/{ORG}/probe", headers={"Authorization": "Bearer user"})
        assert r.status_code == 200, r.text
        assert r.json() == {
            "actor": str(USER),
            "organisation": str(ORG),  # the route's org_id
            "correlation": r.headers["x-request-id"],
        }

        r = await client.get("/probe", headers={"X-API-Key": "key"})
        assert r.json()["actor"] == str(OTHER_USER)
        assert r.json()["organisation"] == str(KEY_ORG)  # the API key's organisation

        r = await client.get("/probe/elsewhere", headers={"Authorization": "Bearer user"})
        assert (r.json()["actor"], r.json()["organisation"]) == (str(USER), str(OTHER_ORG))

        # An anonymous request right after an authenticated one inherits nothing.
        r = await client.get("/probe")
        assert r.status_code == 200
        assert (r.json()["actor"], r.json()["organisation"]) == (None, None)
        assert r.json()["correlation"] == r.headers["x-request-id"]
    assert current_actor() is None  # nothing leaked into the caller's context either
