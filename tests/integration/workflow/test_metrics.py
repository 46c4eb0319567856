"""Per-workflow Prometheus metrics, read the way Prometheus does: scraping ``/metrics``.
Starts, transitions (by state entered), ends, time in state; a refused step counts
nothing."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.workflow.support import (
    INSTANCES,
    Client,
    move,
    published,
    started,
    team,
)


async def scrape(client: Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = await client.get("/metrics")
    assert r.status_code == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
        if s.name.startswith("hub_workflow_")
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_per_workflow(client: Client, database_url: str) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org, key="metered")
    before = await scrape(client)
    one = await started(client, owner, org, key="metered")
    two = await started(client, owner, org, key="metered")
    assert (await move(client, people["ann"], one, "approve")).status_code == 200
    assert (await move(client, people["ann"], one, "approve")).status_code == 409  # stale
    r = await client.post(
        f"{INSTANCES}/{two['id']}/cancel",
        json={"expectedVersion": two["version"], "reason": "dup"},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    wf = {"workflow": "metered"}
    assert delta("hub_workflow_instances_started_total", **wf, actor_type="user") == 2
    assert (
        delta("hub_workflow_transitions_total", **wf, to_state="approved", actor_type="user")
        == 1  # the stale second try counted nothing
    )
    assert delta("hub_workflow_instances_ended_total", **wf, status="completed") == 1
    assert delta("hub_workflow_instances_ended_total", **wf, status="cancelled") == 1
    assert delta("hub_workflow_time_in_state_seconds_count", **wf, state="review") == 2
    assert ("hub_workflow_sla_breaches_total", frozenset({("workflow", "metered")})) not in after
