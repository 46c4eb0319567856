"""Who is acting, and for which organisation, in the request or event being served.

``UnitOfWork.publish`` stamps these onto integration events the service left unstamped,
so the audit trail and webhooks learn who did what where without every service passing
it along by hand.

Filled by:

* HTTP requests: :class:`~hub.kernel.logging.RequestContextMiddleware` opens an empty
  scope per request; the ``principal`` dependencies (:mod:`hub.kernel.security`) record
  the caller's user id and the organisation it addresses (an API key's organisation, else
  the route's ``org_id`` path parameter); a tenancy guard or a service addressing an
  organisation named elsewhere (body, query) calls :func:`bind_organisation`.
* Event handlers: :func:`hub.kernel.subscribers.deliver` runs each handler in the scope
  of the event it handles, so events it publishes carry the original actor.
* Anything else (jobs, CLI): nothing, unless the code opens :func:`acting_scope` itself.

The scope holds a mutable :class:`Acting` rather than plain context variables because
Litestar resolves sibling dependencies in child tasks: a value *set* there would vanish
with the child task, while a change to the object the request's task installed is seen
by the handler.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(slots=True)
class Acting:
    actor_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None
    #: "user", "api_key", or a non-person actor ("system", "workflow", "ai") a job names.
    actor_type: str | None = None
    #: The HTTP request being served (its ``X-Request-Id``) and the caller's address, for
    #: the audit trail: which request caused an effect, and from where.
    request_id: str | None = None
    client_address: str | None = None


_CURRENT: ContextVar[Acting | None] = ContextVar("hub_acting", default=None)


@contextmanager
def acting_scope(
    actor_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    *,
    actor_type: str | None = None,
    request_id: str | None = None,
    client_address: str | None = None,
) -> Iterator[Acting]:
    """A fresh scope for one request or handled event; the previous one comes back after."""
    acting = Acting(actor_id, organisation_id, actor_type, request_id, client_address)
    token = _CURRENT.set(acting)
    try:
        yield acting
    finally:
        _CURRENT.reset(token)


def _scope() -> Acting:
    acting = _CURRENT.get()
    if acting is None:
        # No scope opened above us: start one for this task (and tasks it starts later).
        acting = Acting()
        _CURRENT.set(acting)
    return acting


def bind_actor(actor_id: uuid.UUID | None, actor_type: str | None = None) -> None:
    acting = _scope()
    acting.actor_id = actor_id
    acting.actor_type = actor_type


def bind_organisation(organisation_id: uuid.UUID | None) -> None:
    _scope().organisation_id = organisation_id


def current_actor() -> uuid.UUID | None:
    acting = _CURRENT.get()
    return acting.actor_id if acting is not None else None


def current_organisation() -> uuid.UUID | None:
    acting = _CURRENT.get()
    return acting.organisation_id if acting is not None else None


def current_acting() -> Acting | None:
    """The whole scope (actor type, request id, client address included), or None."""
    return _CURRENT.get()
