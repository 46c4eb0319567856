"""What ContentApi gives intelligence: an organisation's corpus (current text, labels; the
trash left out), its taxonomy, a document's text, and which documents a person may read
(the document rule: restricted ones only for the owner and those shared with)."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.content.api import ContentApi
from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from tests.integration.communication.support_periodic import periodic_kernel
from tests.integration.content.support import role
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import create_org, join, person
from tests.integration.workflow.support_intelligence import seed
from tests.unit.workflow.corpus import corpus

Client = AsyncTestClient[Litestar]


async def test_corpus_taxonomy_text_and_readable_among(
    client: Client, database_url: str, settings: Settings
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    member = await join(client, database_url, org, owner, "member@example.com")
    outsider = await person(client, database_url, "outsider@example.com")
    docs = corpus(6, seed=4)
    seeded = await seed(
        database_url, org, owner.user_id, docs[:3], without_text=1, restricted=docs[3:]
    )
    ids = list(seeded.documents)
    plain, pending = ids[0], ids[3]
    secret, shared, trashed = sorted(seeded.restricted)
    r = await client.put(
        f"{API}/documents/{shared}/permissions",
        json={"restricted": True, "shares": [{"userId": member.user_id, "access": "view"}]},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    await fetch(
        database_url, "UPDATE content.documents SET trashed_at = now() WHERE id = $1", trashed
    )

    async with periodic_kernel(settings, MovableClock()) as kernel:
        content: ContentApi = kernel.services["content_api"]
        org_id = uuid.UUID(org)

        listed = {d.id: d for d in await content.corpus(org_id)}
        assert set(listed) == set(ids) - {trashed}
        assert listed[plain].text == docs[0].text
        assert listed[plain].tags == docs[0].tags
        assert listed[plain].document_type_id == seeded.type_ids[docs[0].document_type]
        assert listed[pending].text is None
        assert listed[pending].extraction_status == "pending"

        taxonomy = await content.taxonomy(org_id)
        assert {t.name: t.id for t in taxonomy.tags} == seeded.tag_ids
        assert {t.name: t.id for t in taxonomy.document_types} == seeded.type_ids
        assert await content.taxonomy(uuid.uuid4()) == type(taxonomy)(tags=(), document_types=())

        assert await content.text_of(plain) == docs[0].text
        assert await content.text_of(pending) is None

        asked = [plain, secret, shared, trashed, uuid.uuid4()]
        owner_id, member_id = uuid.UUID(owner.user_id), uuid.UUID(member.user_id)
        assert await content.readable_among(owner_id, org_id, asked) == {plain, secret, shared}
        assert await content.readable_among(member_id, org_id, asked) == {plain, shared}
        assert await content.readable_among(uuid.UUID(outsider.user_id), org_id, asked) == set()
        assert await content.readable_among(owner_id, org_id, []) == set()

        # readable_document: document() and may_read() in one call, the trash left out.
        outsider_id = uuid.UUID(outsider.user_id)
        for user_id in (owner_id, member_id, outsider_id):
            for document_id in asked:
                found = await content.readable_document(user_id, document_id)
                summary = await content.document(document_id)
                expected = (
                    summary is not None
                    and summary.trashed_at is None
                    and await content.may_read(user_id, document_id)
                )
                assert (found is not None) == expected, (user_id, document_id)
                if found is not None:
                    assert found == summary
        shown = await content.readable_document(owner_id, plain)
        assert shown is not None
        assert shown.tags == docs[0].tags
        assert shown.audit_reads is False
        assert await content.readable_document(member_id, shared) is not None
        assert await content.readable_document(member_id, secret) is None


async def test_reading_a_document_is_not_enough_for_its_insights(
    client: Client, database_url: str
) -> None:
    """A role with ``content.documents.read`` but not ``workflow.insights.read``: 403 on a
    document it may read, 404 on one it may not (nothing learnt about it)."""
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    reader_role = await role(client, owner, org, "Reader", ["content.documents.read"])
    reader = await join(client, database_url, org, owner, "reader@example.com", [reader_role])
    docs = corpus(2, seed=4)
    seeded = await seed(database_url, org, owner.user_id, docs[:1], restricted=docs[1:])
    plain = next(i for i in seeded.documents if i not in seeded.restricted)
    (secret,) = seeded.restricted
    for path in ("insights", "similar"):
        r = await client.get(f"{API}/documents/{plain}/{path}", headers=reader.auth)
        assert r.status_code == 403, r.text
        assert "workflow.insights.read" in r.text
        r = await client.get(f"{API}/documents/{secret}/{path}", headers=reader.auth)
        assert r.status_code == 404, r.text
        r = await client.get(f"{API}/documents/{plain}/{path}", headers=owner.auth)
        assert r.status_code == 200, r.text
