"""Pure kernel rules: context ordering, permission catalogue, cursors, URLs, events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest
import redis.exceptions
import sqlalchemy.exc
from msgspec import UNSET, UnsetType
from sqlalchemy import MetaData

from hub.app import context_modules
from hub.kernel import schema as schema_module
from hub.kernel.contexts import ContextModule, dependency_order
from hub.kernel.db import async_url
from hub.kernel.errors import Conflict, DependencyUnavailable, Invalid, NotFound, dependency_of
from hub.kernel.events import EVENT_TYPES, IntegrationEvent, decode_event, encode_event
from hub.kernel.logging import loggable_path
from hub.kernel.outbox import outbox_of
from hub.kernel.pagination import (
    after_time_and_id,
    clamp_limit,
    decode_cursor,
    encode_cursor,
    page_of,
)
from hub.kernel.permissions import PermissionRegistry
from hub.kernel.problems import refusal, sized
from hub.kernel.schema import context_metadata, context_schemas, new_id, register_context_schema
from hub.kernel.structs import PatchSchema


def _module(name: str, *deps: str) -> ContextModule:
    return ContextModule(name=name, metadata=MetaData(schema=name), depends_on=deps)


def test_contexts_migrate_in_dependency_order() -> None:
    names = [m.name for m in context_modules()]
    assert names.index("identity") < names.index("content") < names.index("workflow")
    assert names.index("identity") < names.index("communication")
    assert sorted(names) == ["communication", "content", "identity", "workflow"]


def test_dependency_cycles_and_unknown_contexts_are_refused() -> None:
    with pytest.raises(ValueError, match="cycle"):
        dependency_order([_module("a", "b"), _module("b", "a")])
    with pytest.raises(ValueError, match="unknown context"):
        dependency_order([_module("a", "ghost")])
    ordered = dependency_order([_module("c", "b"), _module("b", "a"), _module("a")])
    assert [m.name for m in ordered] == ["a", "b", "c"]


def test_permission_keys_are_namespaced_and_unique() -> None:
    reg = PermissionRegistry()
    reg.register("content", [("content.documents.read", "Read documents")])
    assert "content.documents.read" in reg
    assert [p.key for p in reg] == ["content.documents.read"]
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("content", [("content.documents.read", "again")])
    with pytest.raises(ValueError, match="must look like"):
        reg.register("content", [("identity.users.read", "foreign prefix")])
    with pytest.raises(ValueError, match="must look like"):
        reg.register("content", [("content", "no action")])


def test_cursor_round_trip_and_forgery() -> None:
    key = str(uuid.uuid4())
    assert decode_cursor(encode_cursor(key, 3), 2) == [key, 3]
    for bad in ("%%%", "bm90IGpzb24", encode_cursor("only-one")):
        with pytest.raises(Invalid) as err:
            decode_cursor(bad, 2)
        assert err.value.code == "invalid_cursor"
        # A cursor of the documented shape the server did not issue: 422 (a string of
        # another shape is a 400 from the query parameter's own pattern, over HTTP).
        assert err.value.status_code == 422


def test_a_newest_first_cursor_holds_an_aware_time_and_an_id() -> None:
    key = uuid.uuid4()
    at = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert after_time_and_id(encode_cursor(at.isoformat(), str(key))) == (at, key)
    for bad in (
        encode_cursor("2026-12-01T12:00:00", str(key)),  # no offset: which 12:00?
        encode_cursor("yesterday", str(key)),
        encode_cursor(at.isoformat(), "not-a-uuid"),
        encode_cursor(at.isoformat()),
    ):
        with pytest.raises(Invalid) as err:
            after_time_and_id(bad)
        assert (err.value.code, err.value.status_code) == ("invalid_cursor", 422)


def test_page_has_next_cursor_only_when_more_rows_exist() -> None:
    rows = list(range(6))
    page = page_of(rows, 5, lambda r: (r,))
    assert page.items == [0, 1, 2, 3, 4]
    assert page.next_cursor is not None
    assert decode_cursor(page.next_cursor, 1) == [4]
    last = page_of(rows[:3], 5, lambda r: (r,))
    assert last.next_cursor is None
    assert clamp_limit(None) == 20
    assert clamp_limit(0) == 1
    assert clamp_limit(10_000) == 100


def test_database_urls_select_asyncpg() -> None:
    assert async_url("postgresql://u:p@h:5/db").startswith("postgresql+asyncpg://u:p@h:5/db")
    assert async_url("postgres://h/db").startswith("postgresql+asyncpg://")
    with pytest.raises(ValueError, match="unsupported"):
        async_url("mysql://h/db")


def test_context_metadata_is_bound_to_known_schemas() -> None:
    assert context_metadata("content").schema == "content"
    with pytest.raises(ValueError, match="unknown context schema"):
        context_metadata("billing")
    a, b = new_id(), new_id()
    assert a.version == 7
    assert a < b  # time-ordered


def test_a_context_outside_hub_registers_its_schema_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A context defined outside ``hub`` (the example context of the tests) names its
    schema once; until then the kernel refuses it like any typo."""
    monkeypatch.setattr(schema_module, "_REGISTERED", [])
    with pytest.raises(ValueError, match="unknown context schema"):
        context_metadata("kit_probe")
    with pytest.raises(ValueError, match="lower-case identifier"):
        register_context_schema('kit"; DROP SCHEMA identity; --')
    register_context_schema("kit_probe")
    register_context_schema("kit_probe")
    assert context_schemas() == ("identity", "content", "communication", "workflow", "kit_probe")
    assert context_metadata("kit_probe").schema == "kit_probe"
    assert outbox_of("kit_probe").fullname == "kit_probe.outbox"


class _Probe(IntegrationEvent, frozen=True):
    event_type = "kernel.test_probe"
    aggregate_field = "thing_id"
    thing_id: str


def test_events_round_trip_by_type_and_carry_camel_case_envelope() -> None:
    actor = uuid.UUID("0190c3d2-8a4b-7c1e-9f00-123456789abc")
    ev = _Probe(thing_id="t-1", actor_id=actor, correlation_id="c-1")
    raw = encode_event(ev)
    assert b'"eventId"' in raw
    assert b'"actorId":"0190c3d2-8a4b-7c1e-9f00-123456789abc"' in raw  # a string on the wire
    assert b'"eventVersion":1' in raw
    assert b'"thingId":"t-1"' in raw
    back = decode_event("kernel.test_probe", raw)
    assert back == ev
    assert ev.aggregate_key() == "t-1"
    assert "kernel.test_probe" in EVENT_TYPES
    with pytest.raises(LookupError):
        decode_event("kernel.nope", raw)


def test_logged_paths_hide_tokens_but_keep_ids() -> None:
    uid = "0190c3d2-8a4b-7c1e-9f00-123456789abc"
    token = "hub_inv_" + "A1b2-C3_d4" * 4
    assert loggable_path(f"/api/v1/invitations/{token}/accept") == (
        "/api/v1/invitations/[redacted]/accept"
    )
    assert loggable_path(f"/api/v1/orgs/{uid}/members") == f"/api/v1/orgs/{uid}/members"
    assert loggable_path("/api/v1/x/" + "k" * 40) == "/api/v1/x/[redacted]"
    assert loggable_path("/health") == "/health"


def test_dependency_failures_are_recognised_through_their_causes() -> None:
    """What the kernel answers 503 ``dependency_unavailable`` for, and what stays a 500."""

    def caused(outer: Exception, inner: Exception) -> Exception:
        outer.__cause__ = inner
        return outer

    assert dependency_of(redis.exceptions.TimeoutError("slow")) == "redis"
    assert dependency_of(redis.exceptions.ConnectionError("refused")) == "redis"
    assert dependency_of(sqlalchemy.exc.TimeoutError("pool")) == "database"
    assert dependency_of(DependencyUnavailable("database")) == "database"
    assert dependency_of(caused(RuntimeError("wrapped"), redis.exceptions.BusyLoadingError())) == (
        "redis"
    )
    for unrelated in (RuntimeError("bug"), TimeoutError("whose?"), OSError("disk"), KeyError()):
        assert dependency_of(unrelated) is None
    unavailable = DependencyUnavailable("redis")
    assert (unavailable.status_code, unavailable.code) == (503, "dependency_unavailable")
    assert unavailable.extra == {"dependency": "redis"}
    assert unavailable.headers == {"Retry-After": "5"}


def test_a_declared_refusal_makes_a_fresh_exception_each_time() -> None:
    taken = refusal(Conflict, "This name is taken.", code="name_taken")
    first, second = taken(), taken()
    assert first is not second
    assert (first.status_code, first.code, first.detail) == (
        409,
        "name_taken",
        "This name is taken.",
    )
    assert refusal(NotFound, "No such thing.")().code == "not_found"


def test_a_name_is_one_to_most_characters() -> None:
    assert sized("Ada", field="name", most=3) == "Ada"
    for bad in ("", "Adam"):
        with pytest.raises(Invalid) as refused:
            sized(bad, field="name", most=3)
        assert refused.value.errors is not None
        assert [(e.field, e.source) for e in refused.value.errors] == [("name", "body")]


class _Patch(PatchSchema):
    name: str | UnsetType = UNSET
    colour: str | UnsetType | None = UNSET


def test_a_patch_answers_only_what_was_sent() -> None:
    assert msgspec.json.decode(b"{}", type=_Patch).sent() == {}
    sent = msgspec.json.decode(b'{"colour": null}', type=_Patch).sent()
    assert sent == {"colour": None}
    assert msgspec.json.decode(b'{"name": "x"}', type=_Patch).sent() == {"name": "x"}
