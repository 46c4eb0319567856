"""Helpers for communication's black-box tests: an organisation with people in roles,
sending, reading the inbox, and clocks the test moves."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.kernel.clock import MovableClock
from hub.worker import InProcessWorker
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import Person, create_org, join, person

Client = AsyncTestClient[Litestar]
NOTIFICATIONS = f"{API}/notifications"
TEMPLATES = f"{API}/notification-templates"

#: Every service of communication that reads the clock.
_CLOCKED = (
    "notification_templates",
    "notifications",
    "notification_fan_out",
    "email_delivery",
    "deferred_release",
    "inbox",
    "preferences",
    "notification_channels",
    "chat_delivery",
    "digest_closing",
    "digest_email",
    "escalation",
    "inbox_retention",
    "notification_stream",
    "snooze_end",
    "conversations",
    "conversation_messages",
    "conversation_unread_notices",
)


def use_clock(
    clock: MovableClock, *, app: Litestar, worker: InProcessWorker | None, also: Any = ()
) -> None:
    """The app's, the worker's (and ``also`` kernels') communication services on one
    clock the test moves."""
    kernels = [app.state["kernel"], *also]
    if worker is not None:
        kernels.append(worker.background.worker_kernel())
    for kernel in kernels:
        for name in _CLOCKED:
            kernel.services[name].clock = clock


async def org_with(
    client: Client, database_url: str, *members: tuple[str, list[str] | None]
) -> tuple[Person, str, dict[str, Person]]:
    """An owner, their organisation and members (by e-mail local part) with roles."""
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    people: dict[str, Person] = {}
    for local, roles in members:
        people[local] = await join(client, database_url, org, owner, f"{local}@example.com", roles)
    return owner, org, people


async def send(
    client: Client,
    who: Person,
    org: str,
    *,
    template: str = "general.announcement",
    payload: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> Any:
    body: dict[str, Any] = {
        "organisationId": org,
        "templateKey": template,
        "recipients": fields.pop("recipients", {"everyone": True}),
        "payload": payload if payload is not None else {"title": "Hello", "text": "World"},
        **fields,
    }
    return await client.post(NOTIFICATIONS, json=body, headers={**who.auth, **(headers or {})})


async def sent(client: Client, who: Person, org: str, **kw: Any) -> dict[str, Any]:
    r = await send(client, who, org, **kw)
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    return body


async def inbox(client: Client, who: Person, **params: Any) -> list[dict[str, Any]]:
    r = await client.get(NOTIFICATIONS, params=params, headers=who.auth)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def unread(client: Client, who: Person) -> int:
    r = await client.get(f"{NOTIFICATIONS}/unread-count", headers=who.auth)
    assert r.status_code == 200, r.text
    count: int = r.json()["count"]
    return count


async def deliveries(client: Client, who: Person, org: str, **params: Any) -> list[dict[str, Any]]:
    r = await client.get(
        f"{NOTIFICATIONS}/deliveries",
        params={"organisationId": org, "limit": 100, **params},
        headers=who.auth,
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def statuses(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """``(userId, channel) -> status`` of delivery-log rows."""
    return {(row["userId"], row["channel"]): row["status"] for row in rows}
