"""Memberships cached per request and across requests, dropped the moment they change.

Every permission check starts from the caller's roles in an organisation. They are read
at most once per request or handled event (a memo tied to the kernel's acting scope, so
a route whose guard and service both ask pay once) and, across requests and processes,
kept in Redis for ``HUB_MEMBERSHIP_CACHE_SECONDS``: one ``EVALSHA`` instead of the
membership query.

Invalidation is by the events that change a membership: a unit of work committed with
:meth:`MembershipCache.commit` that published ``member_added``, ``member_removed``,
``member_roles_changed``, ``role_updated`` or ``role_deleted`` drops the cached
memberships of that organisation before the change is answered, so the next check (on
any process) reads the new roles. A per-organisation generation counter closes the race
with a reader that read the database just before the change and stores its (old) answer
just after: a value is only stored when the generation it was read under is still
current. API keys' scopes are not cached (a revoked key stops at once, as before); reads
inside a transaction (under the organisation's lock) bypass the cache.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

import msgspec
from redis.asyncio import Redis

from hub.kernel.acting import Acting, current_acting
from hub.kernel.db import UnitOfWork
from hub.kernel.redis_pipe import RedisPyScript, ScriptRunner

#: The events after which an organisation's cached memberships are wrong.
MEMBERSHIP_EVENTS = frozenset(
    {
        "identity.member_added",
        "identity.member_removed",
        "identity.member_roles_changed",
        "identity.role_updated",
        "identity.role_deleted",
    }
)

_READ = """
local value = redis.call('HGET', KEYS[2], ARGV[1])
return {redis.call('GET', KEYS[1]) or '0', value}
"""
_STORE = """
if (redis.call('GET', KEYS[1]) or '0') == ARGV[1] then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return 0
"""
_FORGET = """
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 0
"""
#: How long a generation counter outlives its last change: far beyond any read's
#: duration, so a counter never expires (and restarts at 0) under a reader in flight.
_GENERATION_TTL_MS = 86_400_000


class HeldRole(msgspec.Struct, array_like=True, frozen=True):
    """A role a member holds, as the membership query reads it."""

    role_id: uuid.UUID
    name: str
    builtin: str | None
    permissions: list[str]


#: None: not a member; a list (maybe empty): a member with these roles.
Roles = list[HeldRole] | None
_Key = tuple[uuid.UUID, uuid.UUID]

_MEMO: ContextVar[tuple[Acting, dict[_Key, Roles]] | None] = ContextVar(
    "hub_identity_membership_memo", default=None
)


def _memo() -> dict[_Key, Roles] | None:
    """This request's (or handled event's) memo; None outside any acting scope (jobs)."""
    acting = current_acting()
    if acting is None:
        return None
    held = _MEMO.get()
    if held is None or held[0] is not acting:
        held = (acting, {})
        _MEMO.set(held)
    return held[1]


def _keys(organisation_id: uuid.UUID) -> list[str]:
    return [f"hub:members:gen:{organisation_id}", f"hub:members:{organisation_id}"]


@dataclass(eq=False)
class MembershipCache:
    redis: Redis
    #: 0: no cross-request cache (the per-request memo stays).
    ttl_seconds: int
    #: Makes the runner of a Lua script: the kernel's lean pipelined connection
    #: (``ContextRuntime.script``) in the app, as every permission check reads through
    #: it; redis-py's ``redis`` by default.
    scripts: Callable[[str], ScriptRunner] | None = None

    def __post_init__(self) -> None:
        redis = self.redis
        make = self.scripts or (lambda source: RedisPyScript(redis, source))
        self._read = make(_READ)
        self._store = make(_STORE)
        self._forget = make(_FORGET)

    async def roles(
        self,
        organisation_id: uuid.UUID,
        user_id: uuid.UUID,
        load: Callable[[], Awaitable[Sequence[Any] | None]],
    ) -> Roles:
        """``user_id``'s roles in ``organisation_id`` (None: not a member), from the memo,
        Redis, or ``load`` (rows with ``role_id``, ``name``, ``builtin``, ``permissions``)."""
        memo = _memo()
        key = (organisation_id, user_id)
        if memo is not None and key in memo:
            return memo[key]
        roles = await self._shared(organisation_id, user_id, load)
        if memo is not None:
            memo[key] = roles
        return roles

    async def _shared(
        self,
        organisation_id: uuid.UUID,
        user_id: uuid.UUID,
        load: Callable[[], Awaitable[Sequence[Any] | None]],
    ) -> Roles:
        if self.ttl_seconds <= 0:
            return _held(await load())
        keys, field = _keys(organisation_id), str(user_id)
        generation, cached = cast(list[Any], await self._read(keys, [field]))
        if cached is not None:
            decoded: Roles = msgspec.msgpack.decode(cached, type=Roles)
            return decoded
        roles = _held(await load())
        await self._store(
            keys, [generation, field, msgspec.msgpack.encode(roles), self.ttl_seconds * 1000]
        )
        return roles

    async def forget(self, organisation_id: uuid.UUID) -> None:
        """Drop every cached membership of the organisation (this request's memo too)."""
        memo = _memo()
        if memo is not None:
            for key in [k for k in memo if k[0] == organisation_id]:
                del memo[key]
        await self._forget(_keys(organisation_id), [_GENERATION_TTL_MS])

    async def commit(self, uow: UnitOfWork) -> None:
        """Commit ``uow``, then forget the organisations whose memberships it changed
        (told by the events it published)."""
        changed = {
            event.organisation_id
            for event in uow.pending_events
            if event.event_type in MEMBERSHIP_EVENTS and event.organisation_id is not None
        }
        await uow.commit()
        for organisation_id in changed:
            await self.forget(organisation_id)


def _held(rows: Sequence[Any] | None) -> Roles:
    if rows is None:
        return None
    return [
        HeldRole(role_id=r.role_id, name=r.name, builtin=r.builtin, permissions=list(r.permissions))
        for r in rows
        if r.role_id is not None
    ]
