"""ASN and tag barcodes on new scans (Paperless-ngx's barcodes) through a real
extraction: the first pages of a PDF are rendered and read in the extraction child, an
ASN barcode numbers the document unless another holds the number, tag barcodes add tags;
nothing happens with HUB_CONTENT_BARCODE_PAGES at 0."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.integration.content.support import DOCS, add_version, uploaded
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import create_org, person
from tests.unit.content.test_barcode_rules import page_with

Client = Any


@pytest.fixture
def barcode_pages() -> int:
    return 2


@pytest.fixture
def settings(settings: Settings, barcode_pages: int) -> Settings:
    return settings.replace(content_barcode_pages=barcode_pages)


def scan(*pages: tuple[str, ...]) -> bytes:
    """A scanned PDF: one image page per tuple, with those barcodes on it."""
    images = [page_with(*values) for values in pages]
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=150, save_all=True, append_images=images[1:])
    return out.getvalue()


async def test_barcodes_number_and_tag_a_new_scan(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    first = await uploaded(
        client, owner, org, scan((), ("ASN00042", "TAG:Scans")), file_name="a.pdf"
    )
    await events.drain(within=60)  # first come, first numbered
    again = await uploaded(client, owner, org, scan(("ASN42",)), file_name="b.pdf")
    late = await uploaded(client, owner, org, scan((), (), ("ASN77",)), file_name="c.pdf")
    await events.drain(within=60)

    doc = (await client.get(f"{DOCS}/{first['id']}", headers=owner.auth)).json()
    assert doc["archiveSerialNumber"] == 42
    assert [t["name"] for t in doc["tags"]] == ["Scans"]
    # The same sticker on another scan: the number is taken, that one keeps none.
    other = (await client.get(f"{DOCS}/{again['id']}", headers=owner.auth)).json()
    assert (other["archiveSerialNumber"], other["tags"]) == (None, [])
    # A barcode past the pages read says nothing.
    past = (await client.get(f"{DOCS}/{late['id']}", headers=owner.auth)).json()
    assert past["archiveSerialNumber"] is None
    rows = await fetch(
        database_url,
        "SELECT payload FROM content.outbox WHERE event_type = 'content.document.updated'",
    )
    updates = [json.loads(r["payload"]) for r in rows]
    assert [(u["documentId"], u["via"], u["changed"]) for u in updates] == [
        (first["id"], "barcode", ["archiveSerialNumber", "tags"])
    ]
    # A new version's barcodes give nothing.
    r = await add_version(client, owner, again["id"], scan(("ASN43",)), "b2.pdf")
    assert r.status_code == 201, r.text
    await events.drain(within=60)
    other = (await client.get(f"{DOCS}/{again['id']}", headers=owner.auth)).json()
    assert other["archiveSerialNumber"] is None


@pytest.mark.parametrize("barcode_pages", [0])
async def test_without_barcode_pages_nothing_is_read(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    made = await uploaded(client, owner, org, scan(("ASN5", "TAG:X")), file_name="a.pdf")
    await events.drain(within=60)
    doc = (await client.get(f"{DOCS}/{made['id']}", headers=owner.auth)).json()
    assert (doc["archiveSerialNumber"], doc["tags"]) == (None, [])
