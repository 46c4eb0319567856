"""The remote adapter's pieces without a network: Protocols described from their type
hints, service tokens, problem+json mapped back to the facade's typed errors."""

from __future__ import annotations

import uuid
from typing import Protocol

import msgspec
import pytest

from hub.communication.api import CommunicationApi
from hub.content.api import ContentApi, DocumentSummary
from hub.identity.api import IdentityApi, Membership
from hub.kernel.contract import idempotent
from hub.kernel.errors import AppError, Conflict, Invalid, NotFound
from hub.kernel.remote.client import RemoteProtocolError, error_from_problem
from hub.kernel.remote.interface import describe
from hub.kernel.remote.tokens import TOKEN_TTL_S, ServiceTokens, service_key
from hub.kernel.remote.tracing import trace_id_of


def test_every_protocol_method_becomes_an_operation_with_its_types() -> None:
    identity = describe("identity", IdentityApi, "identity_api")
    assert set(identity.operations) == {
        "resolve_principal",
        "display_info",
        "membership",
        "has_permission",
        "members_with_permission",
        "members_with_role",
        "members_of",
        "organisations_of",
        "roles_of",
    }
    membership = identity.operations["membership"]
    assert membership.idempotent
    assert membership.result == Membership | None
    org, user = uuid.uuid4(), uuid.uuid4()
    # Bound as Python binds the method: positional and keyword, keyword-only enforced.
    params = membership.bind((org, user), {"api_key_id": None})
    wire = msgspec.json.encode(params)
    assert msgspec.json.decode(wire) == {
        "organisation_id": str(org),
        "user_id": str(user),
        "api_key_id": None,
    }
    with pytest.raises(TypeError):
        membership.bind((org, user, None), {})  # api_key_id is keyword-only
    with pytest.raises(TypeError):
        membership.bind((org, user), {})  # and required
    assert identity.path("membership") == "/internal/v1/identity/membership"


def test_writes_are_not_idempotent_and_defaults_travel() -> None:
    content = describe("content", ContentApi, "content_api")
    assert not content.operations["set_metadata"].idempotent
    assert content.operations["document"].result == DocumentSummary | None
    notify = describe("communication", CommunicationApi, "communication_api").operations["notify"]
    assert not notify.idempotent
    params = notify.bind(
        (),
        {
            "organisation_id": uuid.uuid4(),
            "template_key": "general.announcement",
            "user_ids": [uuid.uuid4()],
            "payload": {"title": "t"},
        },
    )
    decoded = msgspec.json.decode(msgspec.json.encode(params), type=notify.params)
    assert decoded == params
    assert notify.arguments(decoded)["priority"] == "normal"
    # Unknown arguments and wrong types are refused when decoding (strict, closed struct).
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"organisation_id": "x"}', type=notify.params)


def test_a_protocol_without_hints_cannot_travel() -> None:
    class Untyped(Protocol):
        @idempotent
        async def read(self, thing): ...  # type: ignore[no-untyped-def]

    with pytest.raises(TypeError, match="thing has no type hint"):
        describe("x", Untyped, "x_api")


def test_service_tokens_are_signed_short_lived_and_reused() -> None:
    now = [1_000_000.0]
    key = service_key("s" * 40, None)
    assert key != service_key("t" * 40, None)
    assert service_key("s" * 40, "k" * 32) == b"k" * 32
    tokens = ServiceTokens(key, caller="content", now=lambda: now[0])
    token = tokens.token()
    assert tokens.verify(token) == "content"
    assert tokens.token() == token  # reused while fresh
    assert ServiceTokens(service_key("t" * 40, None), now=lambda: now[0]).verify(token) is None
    forged = token.rsplit(".", 1)[0].replace("content", "identity") + "." + token.rsplit(".")[-1]
    assert tokens.verify(forged) is None
    assert tokens.verify("garbage") is None
    now[0] += TOKEN_TTL_S + 6
    assert tokens.verify(token) is None  # expired
    assert tokens.token() != token  # a new one minted
    assert tokens.verify(tokens.token()) == "content"


def test_problems_come_back_as_the_facades_errors() -> None:
    body = msgspec.json.encode(
        {
            "type": "https://hub.dev/problems/unknown-template",
            "title": "Unprocessable Content",
            "status": 422,
            "detail": "No template general.nope.",
            "code": "unknown_template",
            "errors": [{"field": "templateKey", "message": "unknown"}],
            "extra": {"templateKey": "general.nope"},
        }
    )
    error = error_from_problem(422, body)
    assert isinstance(error, Invalid)
    assert (error.status_code, error.code, error.detail) == (
        422,
        "unknown_template",
        "No template general.nope.",
    )
    assert error.errors is not None
    assert error.errors[0].field == "templateKey"
    assert error.extra == {"templateKey": "general.nope"}
    assert isinstance(error_from_problem(404, b'{"code":"not_found","detail":"x"}'), NotFound)
    assert isinstance(error_from_problem(409, b'{"code":"conflict","detail":"x"}'), Conflict)
    teapot = error_from_problem(418, b"not json")
    assert type(teapot) is AppError
    assert teapot.status_code == 418
    with pytest.raises(RemoteProtocolError, match="invalid_service_token"):
        error_from_problem(401, b'{"code":"invalid_service_token","detail":"no"}')


def test_a_request_id_is_its_own_trace_id() -> None:
    rid = uuid.uuid4().hex
    assert trace_id_of(rid) == rid
    other = trace_id_of("job-42")
    assert len(other) == 32
    assert other == trace_id_of("job-42")
