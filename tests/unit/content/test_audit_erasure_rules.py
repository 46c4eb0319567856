"""Pseudonymising an erased person in audit entries, without I/O: which entries name
them, what is replaced, what is dropped, what a rewrite record signs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hub.content.domain.audit import CheckpointSigner, Entry
from hub.content.domain.audit_erasure import (
    erased_by,
    names,
    pseudonymise,
    rewrite_message,
    scrub_summary,
)
from hub.kernel.erasure import ERASED_EMAIL, ErasedPerson

ORG = uuid.UUID("0190c3d2-8a4b-7c1e-9f00-00000000b001")
BOB = uuid.UUID("0190c3d2-8a4b-7c1e-9f00-0000000000b0")
ALICE = uuid.UUID("0190c3d2-8a4b-7c1e-9f00-0000000000a1")
PSEUDONYM = uuid.UUID("6b3a1d2e-0000-4000-8000-000000000001")
AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PERSON = ErasedPerson(user_id=BOB, email="bob@example.com", pseudonym=PSEUDONYM)


def entry(**changes: object) -> Entry:
    base: dict[str, object] = {
        "id": uuid.uuid4(),
        "chain_id": ORG,
        "seq": 1,
        "occurred_at": AT,
        "recorded_at": AT,
        "organisation_id": ORG,
        "actor_id": ALICE,
        "actor_type": "user",
        "action": "content.document.uploaded",
        "entity_type": "document",
        "entity_id": str(uuid.uuid4()),
        "summary": {"title": "Invoice"},
        "correlation_id": None,
        "request_id": "r1",
        "client_address": "10.0.0.1",
        "event_id": uuid.uuid4(),
        "source": "content",
    }
    base.update(changes)
    return Entry(**base)  # type: ignore[arg-type]


def test_an_entry_that_does_not_name_the_person_is_returned_as_it_is() -> None:
    other = entry()
    assert not names(other, PERSON)
    assert pseudonymise(other, PERSON) is other


def test_the_persons_own_entry_gets_the_pseudonym_and_loses_their_address() -> None:
    own = entry(actor_id=BOB, summary={"documentId": "d1"})
    changed = pseudonymise(own, PERSON)
    assert changed.actor_id == PSEUDONYM
    assert changed.client_address is None
    assert changed.summary == {"documentId": "d1"}
    assert (changed.action, changed.seq, changed.occurred_at) == (own.action, 1, AT)


def test_a_summary_naming_the_person_is_scrubbed_and_their_descriptions_dropped() -> None:
    about = entry(
        action="identity.member_added",
        entity_type="user",
        entity_id=str(BOB),
        summary={
            "userId": str(BOB),
            "email": "Bob@Example.COM",
            "displayName": "Bob",
            "ip": "10.0.0.9",
            "userAgent": "curl",
            "roles": ["admin"],
            "note": f"added {BOB} (bob@example.com)",
        },
    )
    changed = pseudonymise(about, PERSON)
    assert changed.actor_id == ALICE  # Alice did it: she stays
    assert changed.client_address == "10.0.0.1"
    assert changed.entity_id == str(PSEUDONYM)
    assert changed.summary == {
        "userId": str(PSEUDONYM),
        "email": ERASED_EMAIL,
        "roles": ["admin"],
        "note": f"added {PSEUDONYM} ({ERASED_EMAIL})",
    }
    assert not names(changed, PERSON)


def test_the_erasure_event_names_its_person_and_nothing_else_does() -> None:
    payload = {"userId": str(BOB), "email": "bob@example.com", "pseudonym": str(PSEUDONYM)}
    assert erased_by("identity.user_erased", payload) == PERSON
    assert erased_by("identity.user_disabled", payload) is None
    assert erased_by("identity.user_erased", {"userId": "not a uuid"}) is None
    assert scrub_summary(payload, PERSON) == {
        "userId": str(PSEUDONYM),
        "email": ERASED_EMAIL,
        "pseudonym": str(PSEUDONYM),
    }


def test_a_rewrite_record_signs_where_it_started_and_what_it_replaced() -> None:
    signer = CheckpointSigner(["k" * 32])
    message = rewrite_message(ORG, 3, 9, "a" * 64, "b" * 64, AT)
    signature = signer.sign(message)
    assert signer.verify(message, signature)
    for forged in (
        rewrite_message(ORG, 2, 9, "a" * 64, "b" * 64, AT),
        rewrite_message(ORG, 3, 9, "c" * 64, "b" * 64, AT),
        rewrite_message(ORG, 3, 9, "a" * 64, "d" * 64, AT),
    ):
        assert not signer.verify(forged, signature)
