"""Packs applied through the contexts' interfaces: the shipped packs are valid, a second
apply changes nothing, a changed pack updates what changed and publishes a new workflow
version, export then apply to a fresh organisation reproduces the configuration, and
validation reports every problem of every file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.packs.files import read_pack, write_pack
from hub.packs.format import PackDocument
from hub.packs.shipped import SHIPPED, pack_path
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import Person, create_org, person, roles_by_name
from tests.integration.packs.support import (
    as_json,
    copy_of,
    edit,
    engine_of,
    paths,
    platform_admin,
)

Client = AsyncTestClient[Litestar]


def pack_of(path: Path | str) -> PackDocument:
    document, problems = read_pack(pack_path(str(path)))
    assert problems == []
    assert document is not None
    return document


async def apply(client: Client, root: Person, org: str, document: PackDocument) -> Any:
    r = await client.put(f"{API}/orgs/{org}/pack", json=as_json(document), headers=root.auth)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("name", sorted(SHIPPED))
async def test_the_shipped_packs_are_valid(app: Litestar, name: str) -> None:
    document = pack_of(name)
    assert document.pack.name == name
    assert await engine_of(app).problems(document) == []


async def test_applying_twice_changes_nothing_the_second_time(
    client: Client, database_url: str
) -> None:
    root = await platform_admin(client, database_url)
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner, "Ville de Lyon"))["id"]
    document = pack_of("procurement")

    first = await apply(client, root, org, document)
    assert first["changed"] is True
    assert {c["change"] for c in first["changes"]} == {"created", "updated"}  # defaults: updated
    roles = await roles_by_name(client, org, owner)
    assert {"buyer", "evaluator", "supplier"} <= set(roles)
    assert "content.admin" not in roles["buyer"]["permissions"]
    types = await client.get(f"{API}/orgs/{org}/document-types", headers=owner.auth)
    assert {t["name"] for t in types.json()["items"]} == {"RC", "CCAP", "CCTP", "Offre", "Avis"}
    r = await client.get(f"{API}/orgs/{org}/tags", headers=owner.auth)
    tags = {t["name"]: t for t in r.json()["items"]}
    assert tags["travaux"]["parentId"] == tags["marchés publics"]["id"]
    flow = await client.get(
        f"{API}/workflows/consultation", params={"organisationId": org}, headers=owner.auth
    )
    assert flow.status_code == 200, flow.text
    assert flow.json()["version"] == 1
    template = await client.get(
        f"{API}/notification-templates/procurement.consultation.published",
        params={"organisationId": org},
        headers=owner.auth,
    )
    assert template.status_code == 200, template.text
    assert template.json()["version"] == 1
    # the organisation's own notification category, which the supplier alerts file under
    assert template.json()["category"] == "consultation-alerts"
    r = await client.get(f"{API}/orgs/{org}/notification-categories", headers=owner.auth)
    (alerts,) = r.json()["items"]
    assert (alerts["key"], alerts["defaults"]) == (
        "consultation-alerts",
        {"in_app": True, "email": True},
    )

    second = await apply(client, root, org, document)
    assert second["changed"] is False
    assert {c["change"] for c in second["changes"]} == {"unchanged"}
    versions = await client.get(
        f"{API}/workflows/consultation/versions", params={"organisationId": org}, headers=owner.auth
    )
    assert [v["version"] for v in versions.json()["items"]] == [1]


async def test_a_changed_pack_updates_what_changed_and_publishes_a_new_version(
    client: Client, database_url: str, tmp_path: Path
) -> None:
    root = await platform_admin(client, database_url)
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner, "Cabinet"))["id"]
    copy = copy_of("medical", tmp_path)
    await apply(client, root, org, pack_of(copy))

    edit(
        copy / "roles.yaml",
        "      - content.documents.share\n",
        "      - content.documents.share\n      - workflow.insights.read\n",
    )
    edit(copy / "workflows" / "care-pathway.yaml", "slaMinutes: 2880", "slaMinutes: 1440")
    edit(copy / "pack.yaml", "version: 1.0.0", "version: 1.1.0")
    edit(copy / "notifications.yaml", "name: Appointment reminders", "name: Reminders")
    edit(copy / "taxonomy.yaml", "auditReads: true", "auditReads: false")
    edit(
        copy / "taxonomy.yaml",
        "  - name: urgent\n",
        "  - name: urgent\n    matching: {algorithm: any, pattern: urgent STAT}\n",
    )
    report = await apply(client, root, org, pack_of(copy))

    done = {(c["kind"], c["name"]): c for c in report["changes"] if c["change"] != "unchanged"}
    assert set(done) == {
        ("role", "practitioner"),
        ("workflow", "care-pathway"),
        ("notificationCategory", "appointment-reminders"),
        ("documentType", "Patient record"),
        ("tag", "urgent"),
    }
    assert done["role", "practitioner"]["change"] == "updated"
    assert done["workflow", "care-pathway"]["version"] == 2
    roles = await roles_by_name(client, org, owner)
    assert "workflow.insights.read" in roles["practitioner"]["permissions"]
    latest = await client.get(
        f"{API}/workflows/care-pathway", params={"organisationId": org}, headers=owner.auth
    )
    assert latest.json()["version"] == 2
    assert latest.json()["definition"]["states"][0]["slaMinutes"] == 1440
    r = await client.get(
        f"{API}/orgs/{org}/notification-categories/appointment-reminders", headers=owner.auth
    )
    assert r.json()["name"] == "Reminders"
    types = await client.get(f"{API}/orgs/{org}/document-types", headers=owner.auth)
    record = next(t for t in types.json()["items"] if t["name"] == "Patient record")
    assert record["auditReads"] is False
    tags = await client.get(f"{API}/orgs/{org}/tags", headers=owner.auth)
    urgent = next(t for t in tags.json()["items"] if t["name"] == "urgent")
    assert urgent["matching"] == {
        "algorithm": "any",
        "pattern": "urgent STAT",
        "caseSensitive": False,
    }
    exported_tags = (await client.get(f"{API}/orgs/{org}/pack", headers=root.auth)).json()[
        "taxonomy"
    ]["tags"]
    assert next(t for t in exported_tags if t["name"] == "urgent")["matching"] == {
        "algorithm": "any",
        "pattern": "urgent STAT",
        "caseSensitive": False,
    }
    # the messaging rules, applied once and exported as the pack has them
    exported = (await client.get(f"{API}/orgs/{org}/pack", headers=root.auth)).json()
    assert exported["messaging"] == {
        "rules": [{"role": "patient", "mayMessage": ["practitioner", "staff"]}]
    }
    assert [c["change"] for c in report["changes"] if c["kind"] == "messagingPolicy"] == [
        "unchanged"
    ]


async def test_export_then_apply_to_a_fresh_organisation_reproduces_it(
    client: Client, database_url: str, tmp_path: Path
) -> None:
    root = await platform_admin(client, database_url)
    owner = await person(client, database_url, "owner@example.com")
    first = (await create_org(client, owner, "Ville de Lyon"))["id"]
    fresh = (await create_org(client, owner, "Ville de Nantes"))["id"]
    await apply(client, root, first, pack_of("procurement"))

    r = await client.get(f"{API}/orgs/{first}/pack", headers=root.auth)
    assert r.status_code == 200, r.text
    exported = r.json()
    assert exported["pack"]["name"] == "ville-de-lyon"
    # through the files, as `hub pack export` writes them and `hub pack apply` reads them
    import msgspec

    write_pack(msgspec.convert(exported, PackDocument), tmp_path / "export")
    reread = pack_of(tmp_path / "export")
    report = await apply(client, root, fresh, reread)
    assert report["changed"] is True

    again = (await client.get(f"{API}/orgs/{fresh}/pack", headers=root.auth)).json()
    assert {k: v for k, v in again.items() if k != "pack"} == {
        k: v for k, v in exported.items() if k != "pack"
    }
    assert {r["name"] for r in again["roles"]} == {"buyer", "evaluator", "supplier"}
    assert set(again["workflows"]) == {"consultation", "offre"}
    assert len(again["notifications"]["templates"]) == 5
    assert [c["key"] for c in again["notifications"]["categories"]] == ["consultation-alerts"]
    assert (await apply(client, root, fresh, reread))["changed"] is False


async def test_validation_reports_every_problem_of_every_file(
    app: Litestar, tmp_path: Path
) -> None:
    copy = copy_of("procurement", tmp_path)
    edit(
        copy / "roles.yaml",
        "      - content.documents.delete\n",
        "      - content.documents.burn\n",
    )
    edit(copy / "roles.yaml", "  - name: evaluator\n", "  - name: evaluator\n    colour: red\n")
    edit(copy / "taxonomy.yaml", "    type: integer", "    type: float")
    edit(copy / "taxonomy.yaml", "    parent: marchés publics\n", "    parent: marchés privés\n")
    edit(copy / "notifications.yaml", "La date limite est passée.", "Passée {{ secret }}.")
    edit(copy / "workflows" / "consultation.yaml", "roles: [buyer, evaluator]", "roles: [jury]")
    edit(copy / "samples.yaml", "documentType: CCTP", "documentType: DCE")
    edit(copy / "notifications.yaml", "  - key: consultation-alerts\n", "  - key: documents\n")
    edit(copy / "workflows" / "consultation.yaml", "category: consultation-alerts", "category: 1")
    (copy / "role.yaml").write_text("roles: []\n")
    (copy / "workflows" / "Bad Key.yaml").write_text("states: []\n")

    document, problems = read_pack(copy)
    assert document is not None
    problems += await engine_of(app).problems(document)
    found = paths(problems)
    for expected in (
        "role.yaml",
        "workflows/Bad Key.yaml",
        "roles.yaml: roles[1]",
        "roles.yaml: roles[0].permissions",
        "taxonomy.yaml: customFields[5].type",
        "taxonomy.yaml: tags[1].parent",
        "notifications.yaml: templates[2].channels.in_app.fr.body",
        "workflows/consultation.yaml: transitions[2].actions[0].to.roles[0]",
        "samples.yaml: documents[2].documentType",
        "notifications.yaml: categories[0].key",
        "notifications.yaml: templates[0].category",
        "workflows/consultation.yaml: transitions[0].actions[0].category",
    ):
        assert any(p.startswith(expected) for p in found), (expected, found)
    messages = " ".join(p.message for p in problems)
    assert "content.documents.burn" in messages
    assert "colour" in messages


async def test_yaml_anchors_and_a_missing_manifest_are_problems(tmp_path: Path) -> None:
    (tmp_path / "roles.yaml").write_text(
        "roles:\n  - &r {name: a, permissions: [identity.org.read]}\n  - *r\n"
    )
    document, problems = read_pack(tmp_path)
    assert document is None
    assert paths(problems) == ["pack.yaml", "roles.yaml"]
    assert "anchors" in problems[1].message


async def test_a_key_yaml_reads_as_a_boolean_is_a_problem(tmp_path: Path) -> None:
    copy = copy_of("medical", tmp_path)
    edit(copy / "workflows" / "appointment-reminder.yaml", 'date: "trigger.date"', "on: x")
    _, problems = read_pack(copy)
    assert paths(problems) == ["workflows/appointment-reminder.yaml"]
    assert "bare on/off" in problems[0].message
