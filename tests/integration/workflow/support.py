"""Helpers for workflow's black-box tests: an organisation with an approver role,
definitions, instances and transitions through HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.integration.communication.support_periodic import periodic_kernel
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, create_org, join, person

Client = AsyncTestClient[Litestar]
WORKFLOWS = f"{API}/workflows"
INSTANCES = f"{API}/workflow-instances"


async def role(client: Client, owner: Person, org: str, name: str, permissions: list[str]) -> str:
    r = await client.post(
        f"{API}/orgs/{org}/roles",
        json={"name": name, "permissions": permissions},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def team(client: Client, database_url: str) -> tuple[Person, str, dict[str, Person]]:
    """An owner, their organisation, two approvers and a plain member."""
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    await role(
        client,
        owner,
        org,
        "Approver",
        [
            "workflow.instances.read",
            "workflow.instances.start",
            "workflow.definitions.read",
            "content.documents.read",
        ],
    )
    people = {
        "ann": await join(client, database_url, org, owner, "ann@example.com", ["Approver"]),
        "bob": await join(client, database_url, org, owner, "bob@example.com", ["Approver"]),
        "cy": await join(client, database_url, org, owner, "cy@example.com", None),
    }
    return owner, org, people


def approval(**overrides: Any) -> dict[str, Any]:
    """review → approved (approvers, amount under a limit) | rejected (reason required)."""
    body: dict[str, Any] = {
        "states": [
            {"name": "review", "initial": True, "slaMinutes": 60},
            {"name": "approved", "final": True},
            {"name": "rejected", "final": True},
        ],
        "transitions": [
            {
                "name": "approve",
                "from": ["review"],
                "to": "approved",
                "roles": ["approver"],
                "condition": "vars.amount < 1000",
                "actions": [{"kind": "setVariable", "name": "outcome", "value": "ok"}],
            },
            {
                "name": "reject",
                "from": ["review"],
                "to": "rejected",
                "form": [{"name": "reason", "required": True}],
            },
        ],
    }
    body.update(overrides)
    return body


def approval_notifying(**notice: Any) -> dict[str, Any]:
    """:func:`approval` whose ``approve`` sends a notice: ``general.announcement`` to the
    starter, titled "Approved"; ``notice`` overrides any of the action's keys."""
    body = approval()
    body["transitions"][0]["actions"] = [
        {
            "kind": "notify",
            "templateKey": "general.announcement",
            "to": {"starter": True},
            "payload": {"title": "Approved", "text": "The invoice was approved."},
            **notice,
        }
    ]
    return body


async def publish(
    client: Client, who: Person, org: str, key: str = "invoice", definition: Any = None
) -> Any:
    return await client.post(
        WORKFLOWS,
        json={
            "organisationId": org,
            "key": key,
            "definition": approval() if definition is None else definition,
        },
        headers=who.auth,
    )


async def published(client: Client, who: Person, org: str, **kw: Any) -> dict[str, Any]:
    r = await publish(client, who, org, **kw)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def start(
    client: Client,
    who: Person,
    org: str,
    key: str = "invoice",
    *,
    subject: dict[str, Any] | None = None,
    variables: dict[str, Any] | None = None,
) -> Any:
    return await client.post(
        INSTANCES,
        json={
            "organisationId": org,
            "workflowKey": key,
            "subject": subject or {"reference": "INV-1"},
            "variables": variables if variables is not None else {"amount": 100},
        },
        headers=who.auth,
    )


async def started(client: Client, who: Person, org: str, **kw: Any) -> dict[str, Any]:
    r = await start(client, who, org, **kw)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def move(
    client: Client,
    who: Person,
    instance: dict[str, Any],
    transition: str,
    data: dict[str, Any] | None = None,
    *,
    version: int | None = None,
) -> Any:
    return await client.post(
        f"{INSTANCES}/{instance['id']}/transitions",
        json={
            "transition": transition,
            "expectedVersion": instance["version"] if version is None else version,
            "data": data or {},
        },
        headers=who.auth,
    )


async def titles(client: Client, who: Person) -> list[str]:
    """The titles in the person's notification inbox, newest first."""
    r = await client.get(f"{API}/notifications", headers=who.auth)
    assert r.status_code == 200, r.text
    return [i["title"] for i in r.json()["items"]]


async def history(client: Client, who: Person, instance_id: str) -> list[dict[str, Any]]:
    r = await client.get(f"{INSTANCES}/{instance_id}/history", headers=who.auth)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def outbox(database_url: str, event_type: str) -> list[dict[str, Any]]:
    """The payloads of the events of ``event_type`` workflow published, oldest first."""
    rows = await fetch(
        database_url,
        "SELECT payload FROM workflow.outbox WHERE event_type = $1 ORDER BY position",
        event_type,
    )
    return [json.loads(r["payload"]) for r in rows]


#: Every service of workflow that reads the clock.
_CLOCKED = (
    "workflow_definitions",
    "workflow_instances",
    "workflow_tasks",
    "workflow_timers",
    "workflow_timer_loop",
    "workflow_schedules",
    "workflow_effects",
    "workflow_stats",
    "workflow_delegations",
    "workflow_incidents",
    "workflow_migration",
)


def use_clock(clock: MovableClock, app: Litestar, worker: InProcessWorker | None = None) -> None:
    """The app's (and the worker's) workflow services on one clock the test moves."""
    kernels = [app.state["kernel"]]
    if worker is not None:
        kernels.append(worker.background.worker_kernel())
    for kernel in kernels:
        for name in _CLOCKED:
            kernel.services[name].clock = clock


@asynccontextmanager
async def timer_service(settings: Settings, clock: MovableClock) -> AsyncIterator[Any]:
    """The timer service a worker's timer loop runs, assembled on the test's event loop
    with the test's clock."""
    async with periodic_kernel(settings, clock) as kernel:
        yield kernel.services["workflow_timers"]


@asynccontextmanager
async def timer_loop(settings: Settings, clock: MovableClock) -> AsyncIterator[Any]:
    """The timer loop a worker process runs, on the test's event loop and clock."""
    async with periodic_kernel(settings, clock) as kernel:
        yield kernel.services["workflow_timer_loop"]
