"""A pack's notification topics (``notifications.yaml: topics``): checked with the pack,
defined when it is applied (a second apply changes nothing, a renamed topic keeps its
subscribers), exported with the organisation, and named by the pack's workflows in
``notify`` (``to.topics``)."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar

from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import create_org, join, person
from tests.integration.packs.support import copy_of, edit, engine_of, paths, platform_admin
from tests.integration.packs.test_engine import Client, apply, pack_of

WATCH = (
    "topics:\n"
    "  - key: consultation-watch\n"
    "    name: Veille des consultations\n"
    "    description: Les fournisseurs qui suivent les consultations publiées.\n"
)
CLARIFY = "        templateKey: procurement.consultation.clarification\n"


def with_topic(tmp_path: Path, topics: str = WATCH) -> Path:
    """The procurement pack whose clarification notice also goes to a topic's subscribers."""
    copy = copy_of("procurement", tmp_path)
    text = (copy / "notifications.yaml").read_text(encoding="utf-8")
    (copy / "notifications.yaml").write_text(text + topics, encoding="utf-8")
    flow = copy / "workflows" / "consultation.yaml"
    edit(
        flow,
        CLARIFY + "        category: consultation-alerts\n        to: {roles: [supplier]}",
        CLARIFY
        + "        category: consultation-alerts\n"
        + "        to: {roles: [supplier], topics: [consultation-watch]}",
    )
    return copy


async def test_topics_are_checked_with_the_pack(app: Litestar, tmp_path: Path) -> None:
    assert await engine_of(app).problems(pack_of(with_topic(tmp_path / "good"))) == []

    # the workflow names a topic the pack does not define
    missing = pack_of(with_topic(tmp_path / "missing", topics=""))
    found = paths(await engine_of(app).problems(missing))
    assert [p for p in found if "topics" in p] == [
        "workflows/consultation.yaml: transitions[1].actions[0].to.topics[0]"
    ]

    bad = (
        "topics:\n"
        "  - {key: Consultation Watch, name: Veille}\n"
        "  - {key: consultation-watch, name: '   '}\n"
        "  - {key: consultation-watch, name: Veille}\n"
    )
    found = paths(await engine_of(app).problems(pack_of(with_topic(tmp_path / "bad", bad))))
    assert {
        "notifications.yaml: topics[0].key",
        "notifications.yaml: topics[1].name",
        "notifications.yaml: topics[2].key",  # appears twice
    } <= set(found)


async def test_a_packs_topics_are_applied_kept_and_exported(
    client: Client, database_url: str, tmp_path: Path
) -> None:
    root = await platform_admin(client, database_url)
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner, "Ville de Lyon"))["id"]
    copy = with_topic(tmp_path)

    first = await apply(client, root, org, pack_of(copy))
    assert ("notificationTopic", "consultation-watch", "created") in {
        (c["kind"], c["name"], c["change"]) for c in first["changes"]
    }
    url = f"{API}/orgs/{org}/topics/consultation-watch"
    supplier = await join(client, database_url, org, owner, "supplier@example.com")
    r = await client.put(f"{url}/subscribers/me", headers=supplier.auth)
    assert r.status_code == 200, r.text

    second = await apply(client, root, org, pack_of(copy))
    assert second["changed"] is False

    edit(copy / "notifications.yaml", "name: Veille des consultations", "name: Veille")
    third = await apply(client, root, org, pack_of(copy))
    changed = [(c["kind"], c["change"]) for c in third["changes"] if c["change"] != "unchanged"]
    assert changed == [("notificationTopic", "updated")]
    r = await client.get(url, headers=supplier.auth)
    assert (r.json()["name"], r.json()["subscribers"], r.json()["subscribed"]) == (
        "Veille",
        1,
        True,
    )

    exported = (await client.get(f"{API}/orgs/{org}/pack", headers=root.auth)).json()
    assert exported["notifications"]["topics"] == [
        {
            "key": "consultation-watch",
            "name": "Veille",
            "description": "Les fournisseurs qui suivent les consultations publiées.",
        }
    ]
    flow = exported["workflows"]["consultation"]
    assert flow["transitions"][1]["actions"][0]["to"]["topics"] == ["consultation-watch"]
