"""ContentApi and CommunicationApi, one suite each way: the in-process facades and the remote
adapters talking to a real ``hub run --contexts identity,content,communication`` give the
same answers, and the same typed errors (problem+json turned back into them)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import context_modules
from hub.communication.api import CommunicationApi
from hub.content.api import ContentApi
from hub.kernel.acting import acting_scope
from hub.kernel.errors import AppError, Invalid
from hub.kernel.remote.interface import describe
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.wiring import assemble
from tests.integration.content.support import DOCS, pdf, uploaded
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import create_org, join, person
from tests.integration.split.support import adapter, hub_process, remote_client

pytestmark = [pytest.mark.slow]

CONTENT = describe("content", ContentApi, "content_api")
COMMUNICATION = describe("communication", CommunicationApi, "communication_api")


@pytest.fixture(scope="module")
def service(base_settings: Settings) -> Iterator[str]:
    """A second process serving identity, content and communication (no worker)."""
    with hub_process(base_settings, "identity,content,communication") as (_, base):
        yield base


@pytest.fixture(params=["facade", "remote"])
def apis(
    request: pytest.FixtureRequest, kernel: Kernel, app: Litestar
) -> tuple[ContentApi, CommunicationApi]:
    if request.param == "facade":
        assemble(kernel, context_modules())
        return kernel.services["content_api"], kernel.services["communication_api"]
    base = request.getfixturevalue("service")
    client = remote_client(kernel, "content", base)
    other = remote_client(kernel, "communication", base)
    return adapter(CONTENT, client), adapter(COMMUNICATION, other)


async def test_documents_rules_and_metadata_alike(
    apis: tuple[ContentApi, CommunicationApi],
    client: AsyncTestClient[Litestar],
    database_url: str,
) -> None:
    content, _ = apis
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    member = await join(client, database_url, org, owner, "mem@example.com")
    doc = await uploaded(client, owner, org, pdf(b"contract"), title="Contract", tags=["a"])
    secret = await uploaded(client, owner, org, pdf(b"secret"), title="Secret")
    r = await client.put(
        f"{DOCS}/{secret['id']}/permissions",
        json={"restricted": True, "shares": []},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    doc_id, secret_id = uuid.UUID(doc["id"]), uuid.UUID(secret["id"])
    owner_id, member_id = uuid.UUID(owner.user_id), uuid.UUID(member.user_id)

    summary = await content.document(doc_id)
    assert summary is not None
    assert (summary.title, summary.tags, summary.owner_id) == ("Contract", ("a",), owner_id)
    assert await content.document(uuid.uuid4()) is None
    assert await content.may_read(member_id, doc_id)
    assert not await content.may_read(member_id, secret_id)
    assert await content.may_edit(owner_id, secret_id)
    assert not await content.may_edit(member_id, doc_id)
    assert await content.readable_among(member_id, uuid.UUID(org), [doc_id, secret_id]) == {doc_id}
    assert {d.id for d in await content.corpus(uuid.UUID(org))} == {doc_id, secret_id}
    assert [t.name for t in (await content.taxonomy(uuid.UUID(org))).tags] == ["a"]

    changed = await content.set_metadata(
        doc_id, actor="workflow", tags=["b", "c"], custom_fields=None
    )
    assert changed is not None
    assert sorted(changed.tags) == ["b", "c"]
    assert await content.set_metadata(uuid.uuid4(), actor="workflow", tags=["x"]) is None


async def test_notify_sends_and_refuses_alike(
    apis: tuple[ContentApi, CommunicationApi],
    client: AsyncTestClient[Litestar],
    database_url: str,
) -> None:
    _, communication = apis
    owner = await person(client, database_url, "sender@example.com")
    org = uuid.UUID((await create_org(client, owner))["id"])
    owner_id = uuid.UUID(owner.user_id)
    # Sent while serving a request: its actor and correlation id travel with the call.
    with (
        acting_scope(owner_id, org, actor_type="user", request_id="corr-notify-1"),
        structlog.contextvars.bound_contextvars(request_id="corr-notify-1"),
    ):
        sent = await communication.notify(
            organisation_id=org,
            template_key="general.announcement",
            user_ids=[owner_id],
            payload={"title": "Hello", "text": "across"},
        )
    assert isinstance(sent, uuid.UUID)
    [event] = await fetch(
        database_url,
        "SELECT payload, correlation_id FROM communication.outbox WHERE event_type = $1",
        "communication.notification.requested",
    )
    stamped = json.loads(event["payload"])
    assert (stamped["actorId"], stamped["notificationId"]) == (owner.user_id, str(sent))
    assert (stamped["actorType"], stamped["requestId"]) == ("user", "corr-notify-1")
    assert event["correlation_id"] == "corr-notify-1"
    # Recorded by the service that owns it (delivery then runs in its jobs).
    [row] = await fetch(
        database_url,
        "SELECT organisation_id, template_key FROM communication.notifications WHERE id = $1",
        sent,
    )
    assert (row["organisation_id"], row["template_key"]) == (org, "general.announcement")

    with pytest.raises(AppError) as err:
        await communication.notify(
            organisation_id=org,
            template_key="general.nope",
            user_ids=[uuid.UUID(owner.user_id)],
            payload={},
        )
    refused: Any = err.value
    assert isinstance(refused, Invalid)
    assert (refused.status_code, refused.code) == (422, "unknown_template")
    assert refused.errors is not None
    assert refused.errors[0].field == "templateKey"


async def test_topics_are_listed_and_reached_alike(
    apis: tuple[ContentApi, CommunicationApi],
    client: AsyncTestClient[Litestar],
    database_url: str,
) -> None:
    """``topic_keys`` (what a workflow is checked against) and ``notify(topics=…)``: the
    subscribers who are members; a key the organisation no longer has reaches nobody."""
    _, communication = apis
    owner = await person(client, database_url, "topics@example.com")
    org = uuid.UUID((await create_org(client, owner))["id"])
    member = await join(client, database_url, str(org), owner, "sub@example.com")
    assert await communication.topic_keys(org) == []
    for key in ("on-call", "audits"):
        r = await client.post(
            f"/api/v1/orgs/{org}/topics", json={"key": key, "name": key}, headers=owner.auth
        )
        assert r.status_code == 201, r.text
    r = await client.put(f"/api/v1/orgs/{org}/topics/on-call/subscribers/me", headers=member.auth)
    assert r.status_code == 200, r.text
    assert await communication.topic_keys(org) == ["audits", "on-call"]
    assert await communication.topic_keys(uuid.uuid4()) == []

    sent = await communication.notify(
        organisation_id=org,
        template_key="general.announcement",
        user_ids=[],
        topics=["on-call", "gone"],
        payload={"title": "Paged", "text": "now"},
    )
    [row] = await fetch(
        database_url,
        "SELECT recipient_ids FROM communication.notifications WHERE id = $1",
        sent,
    )
    assert row["recipient_ids"] == [uuid.UUID(member.user_id)]
