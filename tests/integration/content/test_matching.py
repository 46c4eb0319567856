"""Matching rules of tags and document types (Paperless-ngx's matching) through a real
extraction: a new document's text earns the tags and the type whose rules it satisfies,
in the transaction that stores the text; what a person set is never overwritten; a new
version earns nothing; a rule that cannot run is refused when saved."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from click.testing import CliRunner

from hub.cli import main as hub_cli
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.integration.content.support import (
    DOCS,
    add_version,
    cli_env,
    document_type,
    uploaded,
)
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, create_org, person

Client = Any


async def tag(client: Client, who: Person, org: str, name: str, **matching: Any) -> str:
    body: dict[str, Any] = {"name": name}
    if matching:
        body["matching"] = matching
    r = await client.post(f"{API}/orgs/{org}/tags", json=body, headers=who.auth)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def document(client: Client, who: Person, document_id: str) -> Any:
    return (await client.get(f"{DOCS}/{document_id}", headers=who.auth)).json()


async def test_a_new_documents_text_earns_the_tags_and_type_whose_rules_it_meets(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    invoices = await tag(
        client, owner, org, "Invoices", algorithm="any", pattern="invoice rechnung"
    )
    urgent = await tag(
        client, owner, org, "Urgent", algorithm="regex", pattern=r"due\s+\d{4}-\d{2}-\d{2}"
    )
    await tag(client, owner, org, "Medical", algorithm="all", pattern='patient "blood test"')
    await tag(client, owner, org, "Plain")  # no rule: never earned
    await tag(client, owner, org, "Case", algorithm="literal", pattern="ACME", caseSensitive=True)
    r = await client.post(
        f"{API}/orgs/{org}/document-types",
        json={"name": "Invoice", "matching": {"algorithm": "literal", "pattern": "amount due"}},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    invoice_type = r.json()["id"]
    assert r.json()["matching"] == {
        "algorithm": "literal",
        "pattern": "amount due",
        "caseSensitive": False,
    }
    letter = await document_type(client, owner, org, "Letter")

    text = b"RECHNUNG 42 from acme. Amount due: 120 EUR, due 2026-12-31.\n"
    earned = await uploaded(client, owner, org, text, file_name="r.txt")
    typed = await uploaded(client, owner, org, text, file_name="t.txt", document_type_id=letter)
    nothing = await uploaded(client, owner, org, b"A patient note.\n", file_name="n.txt")
    await events.drain(within=30)

    doc = await document(client, owner, earned["id"])
    assert {t["id"] for t in doc["tags"]} == {invoices, urgent}
    assert doc["documentTypeId"] == invoice_type
    kept = await document(client, owner, typed["id"])
    assert kept["documentTypeId"] == letter  # what the uploader chose stays
    assert {t["id"] for t in kept["tags"]} == {invoices, urgent}
    assert (await document(client, owner, nothing["id"]))["tags"] == []
    rows = await fetch(
        database_url,
        "SELECT payload FROM content.outbox WHERE event_type = 'content.document.updated'",
    )
    updates = {p["documentId"]: p for p in (json.loads(r["payload"]) for r in rows)}
    assert updates[earned["id"]]["via"] == "matching"
    assert updates[earned["id"]]["changed"] == ["tags", "documentTypeId"]
    assert updates[typed["id"]]["changed"] == ["tags"]
    assert nothing["id"] not in updates

    # A person removes a tag; a new version's text earns nothing again.
    r = await client.patch(f"{DOCS}/{earned['id']}", json={"tags": []}, headers=owner.auth)
    assert r.status_code == 200, r.text
    r = await add_version(client, owner, earned["id"], text, "r2.txt")
    assert r.status_code == 201, r.text
    await events.drain(within=30)
    assert (await document(client, owner, earned["id"]))["tags"] == []


async def test_rules_are_checked_when_saved_and_shown_and_cleared(
    client: Client, database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    tags = f"{API}/orgs/{org}/tags"
    for rule, status in (
        ({"algorithm": "regex", "pattern": r"(a)\1"}, 422),
        ({"algorithm": "regex", "pattern": "(?<=x)y"}, 422),
        ({"algorithm": "any", "pattern": "   "}, 422),
        ({"algorithm": "fuzzy", "pattern": "x"}, 400),
        ({"algorithm": "any", "pattern": "x" * 257}, 400),
    ):
        r = await client.post(tags, json={"name": "T", "matching": rule}, headers=owner.auth)
        assert r.status_code == status, (rule, r.text)
        if status == 422:
            assert r.json()["errors"][0]["field"] == "matching.pattern"
    assert (await client.get(tags, headers=owner.auth)).json()["items"] == []
    made = await tag(client, owner, org, "T", algorithm="any", pattern="x y")
    r = await client.get(tags, headers=owner.auth)
    assert r.json()["items"][0]["matching"] == {
        "algorithm": "any",
        "pattern": "x y",
        "caseSensitive": False,
    }
    r = await client.patch(f"{tags}/{made}", json={"matching": None}, headers=owner.auth)
    assert r.json()["matching"] == {"algorithm": "none", "pattern": "", "caseSensitive": False}
    r = await client.patch(
        f"{tags}/{made}",
        json={"matching": {"algorithm": "regex", "pattern": "("}},
        headers=owner.auth,
    )
    assert r.status_code == 422
    assert (await client.get(f"{tags}/{made}", headers=owner.auth)).json()["matching"][
        "algorithm"
    ] == "none"


async def test_hub_documents_retag_applies_rules_to_documents_already_there(
    client: Client, settings: Settings, database_url: str, events: InProcessWorker
) -> None:
    """Rules made after the documents came: the command applies them (adding only), in
    one organisation or all, and a second run changes nothing."""
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    other = (await create_org(client, owner, "Elsewhere"))["id"]
    old = await uploaded(client, owner, org, b"Invoice for March\n", file_name="a.txt")
    kept = await uploaded(
        client, owner, org, b"Invoice, tagged\n", file_name="b.txt", tags=["Mine"]
    )
    away = await uploaded(client, owner, other, b"Invoice abroad\n", file_name="c.txt")
    await events.drain(within=30)
    invoices = await tag(client, owner, org, "Invoices", algorithm="any", pattern="invoice")
    await tag(client, owner, other, "Invoices", algorithm="any", pattern="invoice")
    env = cli_env(settings)
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, hub_cli, ["documents", "retag", "--organisation", org], env=env
    )
    assert result.exit_code == 0, result.output
    assert "looked at 2 document(s), 2 changed" in result.output
    assert {t["id"] for t in (await document(client, owner, old["id"]))["tags"]} == {invoices}
    assert sorted(t["name"] for t in (await document(client, owner, kept["id"]))["tags"]) == [
        "Invoices",
        "Mine",
    ]
    assert (await document(client, owner, away["id"]))["tags"] == []  # not its organisation
    result = await asyncio.to_thread(runner.invoke, hub_cli, ["documents", "retag"], env=env)
    assert "looked at 3 document(s), 1 changed" in result.output  # only the other one
    assert [t["name"] for t in (await document(client, owner, away["id"]))["tags"]] == ["Invoices"]
    result = await asyncio.to_thread(
        runner.invoke, hub_cli, ["documents", "retag", "--organisation", "nope"], env=env
    )
    assert result.exit_code == 2
