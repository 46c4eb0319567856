"""The medical practice story, end to end over HTTP as its people would drive it.

The Pasteur practice runs on the `medical` pack: a practitioner files a patient's record
for the patient and the care team only (another patient, the staff and another practice
get 404; every read of it — metadata, versions, file — is in the audit trail), talks to
the patient in a private conversation (patients may not message one another: the pack's
messaging rules), and a referral letter starts the care pathway
whose tasks move from the staff to the practitioners, escalating to the practice's owner
when the consultation overruns its SLA (on the test clock); the day before an
appointment the staff are reminded, the e-mail held back by quiet hours. Ends with one
correlation id tying the upload to the pathway it started, and an intact audit chain.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar

from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from tests.integration.communication.support_periodic import periodic_kernel
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import create_org, join, person, roles_by_name
from tests.integration.packs.story import (
    DOCS,
    INSTANCES,
    Client,
    apply_shipped,
    audit_of,
    ids_by_name,
    inbox,
    instance,
    share,
    status_of,
    upload,
    verified,
)
from tests.integration.packs.support import platform_admin
from tests.integration.workflow.support import timer_service, use_clock

REFERRAL = "New referral to schedule"
OVERDUE = "Care pathway overdue"
FOLLOW_UP = "Follow-up to book"
REMINDER = "Appointment tomorrow"
PATIENT_REMINDER = "Your appointment is tomorrow"


async def tasks(client: Client, who: Any, org: str) -> list[dict[str, Any]]:
    r = await client.get(f"{API}/tasks", params={"organisationId": org}, headers=who.auth)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def complete(client: Client, who: Any, task: dict[str, Any], outcome: str) -> None:
    r = await client.post(
        f"{API}/tasks/{task['id']}/complete", json={"outcome": outcome}, headers=who.auth
    )
    assert r.status_code == 200, r.text


async def test_records_conversations_and_a_care_pathway(
    client: Client, app: Litestar, database_url: str, events: Any, settings: Settings
) -> None:
    clock = MovableClock(datetime.now(UTC))
    use_clock(clock, app, events)
    root = await platform_admin(client, database_url)
    doctor = await person(client, database_url, "direction@cabinet-pasteur.fr")
    pasteur = (await create_org(client, doctor, "Cabinet Pasteur"))["id"]
    await apply_shipped(client, root, pasteur, "medical")
    roles = {n: r["id"] for n, r in (await roles_by_name(client, pasteur, doctor)).items()}

    martin = await join(
        client, database_url, pasteur, doctor, "dr.martin@cabinet-pasteur.fr", ["practitioner"]
    )
    durand = await join(
        client, database_url, pasteur, doctor, "dr.durand@cabinet-pasteur.fr", ["practitioner"]
    )
    sophie = await join(
        client, database_url, pasteur, doctor, "accueil@cabinet-pasteur.fr", ["staff"]
    )
    camille = await join(client, database_url, pasteur, doctor, "camille@example.com", ["patient"])
    louis = await join(client, database_url, pasteur, doctor, "louis@example.com", ["patient"])
    # another practice, where Louis is also a patient
    curie_owner = await person(client, database_url, "direction@cabinet-curie.fr")
    curie = (await create_org(client, curie_owner, "Cabinet Curie"))["id"]

    # the record: the patient and the care team, nobody else
    types = await ids_by_name(client, martin, pasteur, "document-types")
    record = await upload(
        client,
        martin,
        pasteur,
        "Patient record — Camille",
        "Allergies: penicillin.",
        type_id=types["Patient record"],
        fields={"patient": camille.user_id, "record_number": "PR-0001"},
    )
    await share(
        client, martin, record["id"], True, users=[camille.user_id], roles=[roles["practitioner"]]
    )
    assert await status_of(client, camille, record["id"]) == 200
    assert await status_of(client, durand, record["id"]) == 200  # the care team
    for outsider in (louis, sophie, curie_owner):
        assert await status_of(client, outsider, record["id"]) == 404
    assert (
        await client.get(f"{DOCS}/{record['id']}/content", headers=louis.auth)
    ).status_code == 404
    listed = await client.get(DOCS, params={"organisationId": pasteur}, headers=louis.auth)
    assert record["id"] not in {d["id"] for d in listed.json()["items"]}
    download = await client.get(f"{DOCS}/{record['id']}/content", headers=camille.auth)
    assert download.status_code == 200
    assert download.text == "Allergies: penicillin."
    # every read of a patient record is audited (its type says `auditReads: true`)
    r = await client.get(
        f"{DOCS}/{record['id']}", headers={**durand.auth, "X-Request-Id": "req-doctor-reads"}
    )
    assert r.status_code == 200, r.text
    r = await client.get(
        f"{DOCS}/{record['id']}/versions",
        headers={**durand.auth, "X-Request-Id": "req-doctor-versions"},
    )
    assert r.status_code == 200, r.text

    # a private conversation between the practitioner and the patient
    r = await client.post(
        f"{API}/conversations",
        json={"organisationId": pasteur, "participantIds": [camille.user_id]},
        headers=martin.auth,
    )
    assert r.status_code == 201, r.text
    talk = r.json()["id"]
    r = await client.post(
        f"{API}/conversations/{talk}/messages",
        json={"body": "Your results are normal; see you in three months."},
        headers=martin.auth,
    )
    assert r.status_code == 201, r.text
    r = await client.get(f"{API}/conversations/{talk}/messages", headers=camille.auth)
    assert [m["body"] for m in r.json()["items"]] == [
        "Your results are normal; see you in three months."
    ]
    for outsider in (louis, durand, sophie):
        assert (
            await client.get(f"{API}/conversations/{talk}/messages", headers=outsider.auth)
        ).status_code == 404
    # the pack's messaging rules: patients talk to the care team and the staff, never to
    # one another, whoever would gather them
    r = await client.post(
        f"{API}/conversations",
        json={"organisationId": pasteur, "participantIds": [camille.user_id]},
        headers=louis.auth,
    )
    assert (r.status_code, r.json()["code"]) == (403, "messaging_not_allowed")
    r = await client.post(
        f"{API}/conversations",
        json={
            "organisationId": pasteur,
            "participantIds": [camille.user_id, louis.user_id],
            "kind": "group",
        },
        headers=martin.auth,
    )
    assert (r.status_code, r.json()["code"]) == (403, "messaging_not_allowed")
    r = await client.post(
        f"{API}/conversations",
        json={"organisationId": pasteur, "participantIds": [sophie.user_id]},
        headers=louis.auth,
    )
    assert r.status_code == 201, r.text

    # a referral letter starts the care pathway: staff book, the practitioners consult
    r = await client.post(
        DOCS,
        data={
            "organisationId": pasteur,
            "title": "Referral letter — Camille",
            "documentTypeId": types["Referral letter"],
        },
        files={"file": ("referral.txt", b"Please see Camille for palpitations.", "text/plain")},
        headers=sophie.auth,
    )
    assert r.status_code == 201, r.text
    upload_request, letter = r.headers["x-request-id"], r.json()
    await events.drain()
    started = await client.get(INSTANCES, params={"organisationId": pasteur}, headers=sophie.auth)
    (pathway,) = started.json()["items"]
    assert (pathway["workflowKey"], pathway["state"]) == ("care-pathway", "referral")
    assert (pathway["subject"]["documentId"], pathway["startedBy"]) == (
        letter["id"],
        sophie.user_id,
    )
    (booking,) = await tasks(client, sophie, pasteur)
    assert booking["name"] == "Book the consultation"
    assert await tasks(client, camille, pasteur) == []
    await complete(client, sophie, booking, "booked")
    (seeing,) = await tasks(client, martin, pasteur)
    assert seeing["name"] == "See the patient"
    assert await tasks(client, sophie, pasteur) == []

    # the consultation overruns its 14 days: the practice's owner is told
    async with timer_service(settings, clock) as timers:
        clock.advance(days=14, minutes=1)
        assert await timers.fire_due() == 2  # the reminder at 80 % and the escalation
    await events.drain()
    assert OVERDUE in await inbox(client, doctor)
    assert OVERDUE not in await inbox(client, camille)
    await complete(client, durand, seeing, "seen")
    pathway = await instance(client, martin, pathway["id"])
    assert pathway["state"] == "follow_up"
    await events.drain()
    assert FOLLOW_UP in await inbox(client, sophie)
    assert FOLLOW_UP not in await inbox(client, martin)

    # the day before an appointment the staff are reminded; e-mail waits for quiet hours
    now = datetime.now(UTC)
    quiet = {
        "start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=2)).strftime("%H:%M"),
    }
    for sleeper in (sophie, camille):
        r = await client.put(
            f"{API}/notifications/preferences",
            json={"timeZone": "UTC", "quietHours": quiet},
            headers=sleeper.auth,
        )
        assert r.status_code == 200, r.text
    day = (clock().date() + timedelta(days=3)).isoformat()
    appointment = await upload(
        client,
        sophie,
        pasteur,
        "Appointment — Camille",
        "Follow-up consultation with Dr Durand.",
        type_id=types["Appointment"],
        fields={"patient": camille.user_id, "appointment_date": day},
    )
    await events.drain()
    async with periodic_kernel(settings, clock) as kernel:
        schedules = kernel.services["workflow_schedules"]
        eve = datetime.fromisoformat(day).replace(tzinfo=UTC) - timedelta(days=1)
        clock.set(eve + timedelta(hours=5, minutes=59))
        assert await schedules.fire_due() == 0
        clock.set(eve + timedelta(hours=6))
        assert await schedules.fire_due() == 1
        assert await schedules.fire_due() == 0  # once per document and date
    await events.drain()
    assert REMINDER in await inbox(client, sophie)
    assert REMINDER not in await inbox(client, louis)
    # the patient named in the appointment's `patient` field is reminded too, no other
    assert PATIENT_REMINDER in await inbox(client, camille)
    assert REMINDER not in await inbox(client, camille)
    assert PATIENT_REMINDER not in await inbox(client, louis)
    assert PATIENT_REMINDER not in await inbox(client, sophie)
    # reminders are filed under the practice's own category, listed to its members only
    r = await client.get(f"{API}/notifications", headers=camille.auth)
    (reminded_item,) = [i for i in r.json()["items"] if i["title"] == PATIENT_REMINDER]
    assert reminded_item["category"] == "appointment-reminders"
    r = await client.get(f"{API}/notifications/preferences", headers=camille.auth)
    own = {c["key"]: c["organisationId"] for c in r.json()["categories"] if c["organisationId"]}
    assert own == {"appointment-reminders": pasteur}
    r = await client.get(f"{API}/notifications/preferences", headers=curie_owner.auth)
    assert "appointment-reminders" not in {c["key"] for c in r.json()["categories"]}
    reminded = await client.get(
        INSTANCES,
        params={"organisationId": pasteur, "workflowKey": "appointment-reminder"},
        headers=sophie.auth,
    )
    (reminder,) = reminded.json()["items"]
    assert reminder["subject"]["documentId"] == appointment["id"]
    assert await status_of(client, sophie, appointment["id"]) == 200  # not audited
    mails = await fetch(
        database_url,
        "SELECT d.status FROM communication.deliveries d JOIN communication.notifications n "
        "ON n.id = d.notification_id WHERE n.template_key = 'medical.appointment.reminder' "
        "AND d.channel = 'email' AND d.user_id = $1::uuid",
        sophie.user_id,
    )
    assert [m["status"] for m in mails] == ["deferred"]
    mails = await fetch(
        database_url,
        "SELECT d.status FROM communication.deliveries d JOIN communication.notifications n "
        "ON n.id = d.notification_id WHERE n.template_key = "
        "'medical.appointment.patient_reminder' AND d.channel = 'email' AND d.user_id = $1::uuid",
        camille.user_id,
    )
    assert [m["status"] for m in mails] == ["deferred"]  # the patient's quiet hours too

    # every read of the record is in the trail, and one request id ties the referral's
    # upload (content) to the pathway it started (workflow, in the worker)
    reads = await audit_of(client, doctor, pasteur, action="content.document.downloaded")
    assert [(e["actorId"], e["entityId"]) for e in reads] == [(camille.user_id, record["id"])]
    viewed = await audit_of(client, doctor, pasteur, action="content.document.read")
    # only the record's reads (the appointment read above is not audited),
    # by those allowed to read it (the 404s of Louis, Sophie and Curie are not reads)
    assert {e["entityId"] for e in viewed} == {record["id"]}
    assert {(e["actorId"], e["summary"]["what"]) for e in viewed} == {
        (camille.user_id, "metadata"),
        (durand.user_id, "metadata"),
        (durand.user_id, "versions"),
    }
    (doctor_read,) = await audit_of(
        client, doctor, pasteur, correlationId="req-doctor-reads", action="content.document.read"
    )
    assert (doctor_read["actorId"], doctor_read["actorType"]) == (durand.user_id, "user")
    assert doctor_read["entityType"] == "document"
    tied = {
        e["action"] for e in await audit_of(client, doctor, pasteur, correlationId=upload_request)
    }
    assert {"content.document.uploaded", "workflow.instance.started"} <= tied
    await verified(client, doctor, pasteur)
    await verified(client, curie_owner, curie)
