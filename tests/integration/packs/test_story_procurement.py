"""The public procurement story, end to end over HTTP as its people would drive it.

The city of Lyon runs a consultation on the `procurement` pack its platform administrator
applied: a buyer publishes the dossier (RC, CCAP, CCTP), two supplier firms (each also
an organisation of its own) are alerted, read the dossier and submit sealed offers, a
clarification postpones the deadline, the deadline's timer closes the bids (on the test
clock), the bids are opened to the committee, which gives two approvals out of three,
and the award notice reaches the suppliers. Along the way: what each person must not
see (another supplier's offer, a firm's own documents, the committee's inbox), one
correlation id per request across its effects, and an intact audit chain at the end.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Litestar

from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import create_org, join, person, roles_by_name
from tests.integration.packs.story import (
    INSTANCES,
    Client,
    apply_shipped,
    audit_of,
    ids_by_name,
    inbox,
    instance,
    move,
    share,
    status_of,
    upload,
    verified,
)
from tests.integration.packs.support import platform_admin
from tests.integration.workflow.support import timer_service, use_clock

PUBLISHED = "Nouvelle consultation publiée"
CLARIFIED = "Consultation : réponse aux questions publiée"
OPENED = "Consultation : offres ouvertes"
AWARDED = "Consultation : marché attribué"


async def test_a_consultation_from_publication_to_award(
    client: Client, app: Litestar, database_url: str, events: Any, settings: Settings
) -> None:
    clock = MovableClock(datetime(2026, 9, 1, 8, 0, tzinfo=UTC))
    use_clock(clock, app)
    root = await platform_admin(client, database_url)
    mairie = await person(client, database_url, "dsi@lyon.fr")
    lyon = (await create_org(client, mairie, "Ville de Lyon"))["id"]
    report = await apply_shipped(client, root, lyon, "procurement")
    assert report["changed"] is True

    roles = {name: r["id"] for name, r in (await roles_by_name(client, lyon, mairie)).items()}
    buyer = await join(client, database_url, lyon, mairie, "acheteur@lyon.fr", ["buyer"])
    committee = [
        await join(client, database_url, lyon, mairie, f"eval{i}@lyon.fr", ["evaluator"])
        for i in (1, 2, 3)
    ]
    alpha = await join(
        client, database_url, lyon, mairie, "offres@batiments-durables.fr", ["supplier"]
    )
    beta = await join(client, database_url, lyon, mairie, "contact@renovest.fr", ["supplier"])
    # each firm is an organisation of its own, with documents Lyon never sees
    firm = (await create_org(client, alpha, "Bâtiments Durables SARL"))["id"]
    internal = await upload(client, alpha, firm, "Marge cible", "Marge visée : 12 %.")

    types = await ids_by_name(client, buyer, lyon, "document-types")
    dossier = {
        kind: await upload(
            client,
            buyer,
            lyon,
            f"{kind} — Rénovation énergétique de l'école Jules Ferry",
            f"{kind} de la consultation 2026-AO-014.",
            type_id=types[kind],
            fields={"reference": "2026-AO-014", "date_limite": "2026-10-01"},
        )
        for kind in ("RC", "CCAP", "CCTP")
    }
    for document in dossier.values():
        await share(
            client, buyer, document["id"], False, roles=[roles["supplier"], roles["evaluator"]]
        )

    # before publication nobody outside the buyer's office is told anything
    r = await client.post(
        INSTANCES,
        json={
            "organisationId": lyon,
            "workflowKey": "consultation",
            "subject": {"documentId": dossier["RC"]["id"]},
            "variables": {"reference": "2026-AO-014"},
        },
        headers=buyer.auth,
    )
    assert r.status_code == 201, r.text
    consultation = r.json()
    assert consultation["state"] == "draft"
    r = await move(client, alpha, consultation, "publish")
    assert r.status_code in (403, 404)  # a supplier cannot publish

    r = await move(client, buyer, consultation, "publish")
    assert r.status_code == 200, r.text
    publish_request = r.headers["x-request-id"]
    consultation = r.json()
    await events.drain()
    for supplier in (alpha, beta):
        assert await inbox(client, supplier) == [PUBLISHED]
    # the alert names the consultation (its subject document's title)
    r = await client.get(f"{API}/notifications", headers=alpha.auth)
    (alert,) = r.json()["items"]
    assert alert["body"].startswith("RC — Rénovation énergétique de l'école Jules Ferry : ")
    # filed under the buyer organisation's own category, which a supplier may turn off
    assert alert["category"] == "consultation-alerts"
    r = await client.get(f"{API}/notifications/preferences", headers=alpha.auth)
    own = {c["key"]: c for c in r.json()["categories"] if c["organisationId"] == lyon}
    assert set(own) == {"consultation-alerts"}
    assert own["consultation-alerts"]["name"] == "Alertes consultation"
    r = await client.put(
        f"{API}/notifications/preferences",
        json={"channels": {"consultation-alerts": {"in_app": False, "email": False}}},
        headers=alpha.auth,
    )
    assert r.status_code == 200, r.text
    assert await inbox(client, committee[0]) == []

    # the suppliers read the dossier, never the firm's own documents across organisations
    for document in dossier.values():
        assert await status_of(client, alpha, document["id"]) == 200
    assert await status_of(client, buyer, internal["id"]) == 404
    assert await status_of(client, mairie, internal["id"]) == 404

    # sealed offers: filing one starts its `offre` workflow, which types and seals it
    offers = {}
    for who, amount in ((alpha, "412500.00"), (beta, "398000.00")):
        offers[who.email] = await upload(
            client,
            who,
            lyon,
            f"Offre — {who.email.split('@')[1]}",
            "Mémoire technique et bordereau des prix.",
            fields={"reference": "2026-AO-014", "montant": {"amount": amount, "currency": "EUR"}},
        )
    mine, theirs = offers[alpha.email]["id"], offers[beta.email]["id"]
    # sealed from the first commit, before any worker has handled the upload
    assert offers[alpha.email]["restricted"] is True
    for person_ in (buyer, *committee, beta):
        assert await status_of(client, person_, mine) == 404
    await events.drain()
    assert await status_of(client, alpha, mine) == 200
    sealed = (await client.get(f"{API}/documents/{mine}", headers=alpha.auth)).json()
    assert sealed["documentTypeId"] == types["Offre"]
    assert await status_of(client, alpha, theirs) == 404
    assert await status_of(client, beta, mine) == 404
    assert (
        await client.get(f"{API}/documents/{theirs}/content", headers=alpha.auth)
    ).status_code == 404
    for person_ in (buyer, *committee):
        assert await status_of(client, person_, mine) == 404
    listed = await client.get(
        f"{API}/documents", params={"organisationId": lyon}, headers=alpha.auth
    )
    assert theirs not in {d["id"] for d in listed.json()["items"]}

    # a clarification alerts the suppliers and postpones the deadline by ten days
    clock.advance(days=20)
    r = await move(client, buyer, consultation, "clarify", answer="Les variantes sont autorisées.")
    assert r.status_code == 200, r.text
    consultation = r.json()
    await events.drain()
    assert await inbox(client, beta) == [CLARIFIED, PUBLISHED]
    assert await inbox(client, alpha) == [PUBLISHED]  # alerts turned off; notices stay on

    async with timer_service(settings, clock) as timers:
        clock.advance(days=9, hours=23)
        assert await timers.fire_due() == 0  # 30 days after publication, but not after the answer
        await events.drain()
        for reader in (buyer, *committee):  # still sealed just before the deadline
            assert await status_of(client, reader, mine) == 404
        clock.advance(hours=2)
        assert await timers.fire_due() == 1
    consultation = await instance(client, buyer, consultation["id"])
    assert consultation["state"] == "bids_closed"
    await events.drain()
    assert await inbox(client, committee[1]) == [OPENED]
    assert OPENED not in await inbox(client, alpha)

    # the deadline opens the bids (ouverture des plis) by itself: the committee and the
    # buyer read every offer of this consultation, the other suppliers never
    for reader in (buyer, *committee):
        assert await status_of(client, reader, mine) == 200
        assert await status_of(client, reader, theirs) == 200
    assert await status_of(client, beta, mine) == 404
    assert await status_of(client, alpha, theirs) == 404
    r = await client.get(
        INSTANCES, params={"organisationId": lyon, "workflowKey": "offre"}, headers=mairie.auth
    )
    sealed_offers = [i for i in r.json()["items"] if i["workflowKey"] == "offre"]
    assert {i["subject"]["documentId"] for i in sealed_offers} == {mine, theirs}

    r = await move(client, buyer, consultation, "start_evaluation")
    assert r.status_code == 200, r.text
    tasks = await client.get(
        f"{API}/tasks", params={"organisationId": lyon}, headers=committee[0].auth
    )
    (task,) = tasks.json()["items"]
    assert task["name"] == "Avis de la commission d'évaluation"
    assert (
        await client.get(f"{API}/tasks", params={"organisationId": lyon}, headers=alpha.auth)
    ).json()["items"] == []
    for voter in committee[:2]:
        r = await client.post(
            f"{API}/tasks/{task['id']}/complete", json={"outcome": "approve"}, headers=voter.auth
        )
        assert r.status_code == 200, r.text
    consultation = await instance(client, buyer, consultation["id"])
    assert (consultation["state"], consultation["status"]) == ("awarded", "completed")
    await events.drain()
    for supplier in (alpha, beta):
        assert (await inbox(client, supplier))[0] == AWARDED

    # one correlation id ties the publication to everything it caused
    tied = await audit_of(client, mairie, lyon, correlationId=publish_request)
    actions = {e["action"] for e in tied}
    # the transition (workflow) and the supplier alert it sent (communication, in a job)
    assert {"workflow.instance.transitioned", "communication.notification.requested"} <= actions
    assert all(e["correlationId"] == publish_request for e in tied)
    await verified(client, mairie, lyon)


async def test_a_rejection_by_the_committee_declares_the_consultation_unsuccessful(
    client: Client, app: Litestar, database_url: str, events: Any, settings: Settings
) -> None:
    clock = MovableClock(datetime(2026, 9, 1, 8, 0, tzinfo=UTC))
    use_clock(clock, app)
    root = await platform_admin(client, database_url)
    mairie = await person(client, database_url, "dsi@lyon.fr")
    lyon = (await create_org(client, mairie, "Ville de Lyon"))["id"]
    await apply_shipped(client, root, lyon, "procurement")
    buyer = await join(client, database_url, lyon, mairie, "acheteur@lyon.fr", ["buyer"])
    judge = await join(client, database_url, lyon, mairie, "eval@lyon.fr", ["evaluator"])
    alpha = await join(client, database_url, lyon, mairie, "alpha@example.com", ["supplier"])
    rc = await upload(client, buyer, lyon, "RC — Voirie 2026", "Règlement.")
    r = await client.post(
        INSTANCES,
        json={
            "organisationId": lyon,
            "workflowKey": "consultation",
            "subject": {"documentId": rc["id"]},
        },
        headers=buyer.auth,
    )
    consultation = r.json()
    consultation = (await move(client, buyer, consultation, "publish")).json()
    async with timer_service(settings, clock) as timers:
        clock.advance(days=30, minutes=1)  # no clarification: 30 days after publication
        assert await timers.fire_due() == 1
    consultation = await instance(client, buyer, consultation["id"])
    r = await move(client, buyer, consultation, "start_evaluation")
    assert r.status_code == 200, r.text
    tasks = await client.get(f"{API}/tasks", params={"organisationId": lyon}, headers=judge.auth)
    (task,) = tasks.json()["items"]
    done = f"{API}/tasks/{task['id']}/complete"
    r = await client.post(done, json={"outcome": "reject"}, headers=judge.auth)
    assert r.status_code == 422  # a rejection gives its reason
    r = await client.post(
        done, json={"outcome": "reject", "reason": "Aucune offre conforme."}, headers=judge.auth
    )
    assert r.status_code == 200, r.text
    consultation = await instance(client, buyer, consultation["id"])
    assert (consultation["state"], consultation["status"]) == ("unsuccessful", "completed")
    await events.drain()
    assert (await inbox(client, alpha))[0] == "Consultation : déclarée infructueuse"
    await verified(client, mairie, lyon)
