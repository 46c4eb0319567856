"""Notification categories an organisation defines: CRUD over HTTP with tenant isolation,
then used like the platform's — a template files under one, a send takes it, the
organisation's defaults and members' preferences name it, a mandatory one ignores
opt-outs — and members see the categories of their organisations in their preferences."""

from __future__ import annotations

from typing import Any

from hub.worker import InProcessWorker
from tests.integration.communication.support import (
    NOTIFICATIONS,
    TEMPLATES,
    Client,
    deliveries,
    org_with,
    sent,
    statuses,
)
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import create_org, person
from tests.support import problem

ALERTS = {
    "key": "consultation-alerts",
    "name": "Consultation alerts",
    "description": "A consultation is published or clarified",
    "defaults": {"in_app": True, "email": False},
}


def categories_of(org: str) -> str:
    return f"{API}/orgs/{org}/notification-categories"


def template(category: str) -> dict[str, Any]:
    return {
        "key": "alert.published",
        "category": category,
        "channels": {
            "in_app": {"en": {"title": "Published", "body": "A consultation is out."}},
            "email": {"en": {"subject": "Published", "text": "A consultation is out."}},
        },
    }


async def test_crud_and_tenant_isolation(client: Client, database_url: str) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    stranger = await person(client, database_url, "stranger@example.com")
    url = categories_of(org)

    r = await client.post(url, json=ALERTS, headers=owner.auth)
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["key"], created["name"], created["mandatory"]) == (
        "consultation-alerts",
        "Consultation alerts",
        False,
    )
    assert created["defaults"] == {"in_app": True, "email": False}
    r = await client.post(url, json=ALERTS, headers=owner.auth)
    assert (r.status_code, problem(r)["code"]) == (409, "category_exists")
    r = await client.post(url, json={**ALERTS, "key": "documents"}, headers=owner.auth)
    assert (r.status_code, problem(r)["code"]) == (422, "category_reserved")
    r = await client.post(url, json={**ALERTS, "key": "Bad Key"}, headers=owner.auth)
    assert r.status_code == 400
    r = await client.post(
        url, json={**ALERTS, "key": "other", "defaults": {"pigeon": True}}, headers=owner.auth
    )
    assert r.status_code == 422
    assert problem(r)["errors"][0]["field"] == "defaults.pigeon"

    # members read; only communication.settings.manage changes; outsiders see nothing
    r = await client.get(url, headers=ann.auth)
    assert [c["key"] for c in r.json()["items"]] == ["consultation-alerts"]
    r = await client.post(url, json={**ALERTS, "key": "mine"}, headers=ann.auth)
    assert r.status_code == 403
    r = await client.patch(f"{url}/consultation-alerts", json={"name": "x"}, headers=ann.auth)
    assert r.status_code == 403
    assert (await client.delete(f"{url}/consultation-alerts", headers=ann.auth)).status_code == 403
    for method in ("get", "delete"):
        r = await getattr(client, method)(f"{url}/consultation-alerts", headers=stranger.auth)
        assert r.status_code == 404
    assert (await client.get(url, headers=stranger.auth)).status_code == 404
    # another organisation's owner cannot reach it through their own organisation either
    other = (await create_org(client, stranger, "Other"))["id"]
    r = await client.get(f"{categories_of(other)}/consultation-alerts", headers=stranger.auth)
    assert r.status_code == 404

    r = await client.patch(
        f"{url}/consultation-alerts", json={"mandatory": True}, headers=owner.auth
    )
    assert (r.status_code, r.json()["mandatory"], r.json()["name"]) == (
        200,
        True,
        "Consultation alerts",
    )
    r = await client.get(f"{url}/unknown", headers=owner.auth)
    assert r.status_code == 404

    # in use by a template: 409 until the template files elsewhere
    q = {"organisationId": org}
    r = await client.post(
        TEMPLATES, params=q, json=template("consultation-alerts"), headers=owner.auth
    )
    assert r.status_code == 201, r.text
    r = await client.delete(f"{url}/consultation-alerts", headers=owner.auth)
    assert (r.status_code, problem(r)["code"]) == (409, "category_in_use")
    body = template("general")
    del body["key"]
    r = await client.put(f"{TEMPLATES}/alert.published", params=q, json=body, headers=owner.auth)
    assert r.status_code == 200, r.text
    assert (
        await client.delete(f"{url}/consultation-alerts", headers=owner.auth)
    ).status_code == 204
    assert (await client.get(url, headers=owner.auth)).json()["items"] == []


async def test_used_like_a_platform_category(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    q = {"organisationId": org}
    # an unknown category is refused until the organisation defines it
    r = await client.post(
        TEMPLATES, params=q, json=template("consultation-alerts"), headers=owner.auth
    )
    assert (r.status_code, problem(r)["code"]) == (422, "unknown_category")
    r = await client.put(
        f"{NOTIFICATIONS}/preferences",
        json={"channels": {"consultation-alerts": {"in_app": False}}},
        headers=ann.auth,
    )
    assert (r.status_code, problem(r)["code"]) == (422, "unknown_category")
    assert (await client.post(categories_of(org), json=ALERTS, headers=owner.auth)).is_success
    r = await client.post(
        TEMPLATES, params=q, json=template("consultation-alerts"), headers=owner.auth
    )
    assert r.status_code == 201, r.text

    # members see it in their preferences, with its organisation, and may override it
    r = await client.get(f"{NOTIFICATIONS}/preferences", headers=ann.auth)
    listed = {c["key"]: c for c in r.json()["categories"]}
    assert {"security", "documents", "consultation-alerts"} <= set(listed)
    assert listed["consultation-alerts"]["organisationId"] == org
    assert listed["consultation-alerts"]["name"] == "Consultation alerts"
    assert listed["documents"]["organisationId"] is None
    r = await client.put(
        f"{NOTIFICATIONS}/preferences",
        json={"channels": {"consultation-alerts": {"in_app": False}}},
        headers=ann.auth,
    )
    assert r.status_code == 200, r.text
    # the organisation's defaults name it too: e-mail on for everyone
    r = await client.put(
        f"{NOTIFICATIONS}/defaults",
        params=q,
        json={"channels": {"consultation-alerts": {"email": True}}},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    outsider = await person(client, database_url, "outsider@example.com")
    r = await client.get(f"{NOTIFICATIONS}/preferences", headers=outsider.auth)
    assert "consultation-alerts" not in {c["key"] for c in r.json()["categories"]}

    both = {"userIds": [ann.user_id, bob.user_id]}
    first = await sent(client, owner, org, template="alert.published", payload={}, recipients=both)
    await events.drain()
    got = statuses(await deliveries(client, owner, org, notificationId=first["id"]))
    assert got == {
        (ann.user_id, "in_app"): "skipped",  # her override
        (ann.user_id, "email"): "sent",  # the organisation's default
        (bob.user_id, "in_app"): "sent",  # the category's own default
        (bob.user_id, "email"): "sent",
    }
    r = await client.get(
        NOTIFICATIONS, params={"category": "consultation-alerts"}, headers=bob.auth
    )
    assert [i["category"] for i in r.json()["items"]] == ["consultation-alerts"]

    # mandatory: members' opt-outs no longer count
    r = await client.patch(
        f"{categories_of(org)}/consultation-alerts", json={"mandatory": True}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    second = await sent(client, owner, org, template="alert.published", payload={}, recipients=both)
    await events.drain()
    got = statuses(await deliveries(client, owner, org, notificationId=second["id"]))
    assert got[(ann.user_id, "in_app")] == "sent"

    # a send may file a platform template under the organisation's category
    third = await sent(client, owner, org, category="consultation-alerts", recipients=both)
    await events.drain()
    r = await client.get(
        NOTIFICATIONS, params={"category": "consultation-alerts"}, headers=bob.auth
    )
    assert third["id"] in {i["notificationId"] for i in r.json()["items"]}
    r = await client.post(
        f"{NOTIFICATIONS}",
        json={
            "organisationId": org,
            "templateKey": "general.announcement",
            "recipients": both,
            "payload": {"title": "x", "text": "y"},
            "category": "not-defined-here",
        },
        headers=owner.auth,
    )
    assert (r.status_code, problem(r)["code"]) == (422, "unknown_category")
