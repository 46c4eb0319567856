"""The audit trail's pure rules: canonical encoding, hashing, summaries without secrets,
the entity an event is about, checkpoint signatures, CSV cells, month partitions."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

from hub.content.controllers.audit import csv_safe
from hub.content.domain.audit import (
    GENESIS_HASH,
    CheckpointSigner,
    Entry,
    canonical,
    entity_of,
    entry_hash,
    head_message,
    is_secret_name,
    month_of_partition,
    next_month,
    partition_name,
    summarise,
)

ORG = uuid.UUID("0190c3d2-8a4b-7c1e-9f00-00000000b001")
AT = datetime(2026, 11, 30, 3, 4, 5, 123456, tzinfo=UTC)


def entry(**changes: object) -> Entry:
    base = Entry(
        id=uuid.UUID("0190c3d2-8a4b-7c1e-9f00-00000000e001"),
        chain_id=ORG,
        seq=1,
        occurred_at=AT,
        recorded_at=AT,
        organisation_id=ORG,
        actor_id=None,
        actor_type="system",
        action="content.tag.created",
        entity_type="tag",
        entity_id="t1",
        summary={"name": "x", "b": [1, 2], "a": {"z": 1, "y": 2}},
        correlation_id=None,
        request_id=None,
        client_address=None,
        event_id=None,
        source="content",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_canonical_encoding_is_deterministic_and_sorted() -> None:
    same = entry(summary={"a": {"y": 2, "z": 1}, "b": [1, 2], "name": "x"})
    assert canonical(entry()) == canonical(same)
    raw = canonical(entry())
    assert raw.startswith(b'{"action":"content.tag.created","actorId":null,"actorType":"system"')
    assert b'"summary":{"a":{"y":2,"z":1},"b":[1,2],"name":"x"}' in raw
    # One instant, one spelling, whatever the offset it was read in.
    shifted = entry(occurred_at=AT.astimezone(timezone(timedelta(hours=5))))
    assert canonical(shifted) == raw
    assert b'"occurredAt":"2026-11-30T03:04:05.123456Z"' in raw


def test_every_field_changes_the_hash() -> None:
    digest = entry_hash(GENESIS_HASH, entry())
    assert len(digest) == 64
    assert entry_hash(GENESIS_HASH, entry()) == digest
    assert entry_hash("1" * 64, entry()) != digest
    for change in (
        {"seq": 2},
        {"actor_type": "user"},
        {"actor_id": ORG},
        {"summary": {"name": "y"}},
        {"client_address": "10.0.0.1"},
        {"request_id": "r"},
        {"recorded_at": AT + timedelta(microseconds=1)},
    ):
        assert entry_hash(GENESIS_HASH, entry(**change)) != digest, change


def test_summaries_drop_secret_looking_fields_but_keep_ids() -> None:
    payload = {
        "apiKeyId": "k1",
        "sessionIds": ["s1"],
        "token": "t",
        "tokenSha256": "h",
        "passwordHash": "p",
        "clientSecret": "s",
        "apiKey": "hub_ak_x",
        "recoveryCodes": ["a"],
        "otp": "123456",
        "nested": {"refreshToken": "r", "name": "ok"},
        "title": "x" * 1000,
        "many": list(range(100)),
    }
    summary = summarise(payload)
    assert set(summary) == {"apiKeyId", "sessionIds", "nested", "title", "many"}
    assert summary["nested"] == {"name": "ok"}
    assert len(summary["title"]) == 256
    assert summary["many"] == list(range(50))
    assert is_secret_name("signature")
    assert not is_secret_name("roleId")


def test_the_entity_of_an_event() -> None:
    doc = str(uuid.uuid4())
    assert entity_of("content.document.uploaded", {"documentId": doc}, ORG) == ("document", doc)
    assert entity_of("content.tag.created", {"id": "t1", "name": "x"}, ORG) == ("tag", "t1")
    assert entity_of("identity.api_key_created", {"userId": "u1", "apiKeyId": "k1"}, None) == (
        "api_key",
        "k1",
    )
    assert entity_of("identity.organisation_created", {"name": "A"}, ORG) == (
        "organisation",
        str(ORG),
    )
    assert entity_of("identity.member_added", {"userId": "u1"}, ORG) == ("user", "u1")
    assert entity_of("kernel.something", {"n": 1}, None) == (None, None)


def test_checkpoint_signatures_need_the_key_and_survive_a_rotation() -> None:
    message = head_message("checkpoint", ORG, 7, "a" * 64, AT)
    old = CheckpointSigner(["old-secret-key-of-at-least-32-chars!!"])
    signature = old.sign(message)
    assert old.verify(message, signature)
    assert not old.verify(head_message("checkpoint", ORG, 8, "a" * 64, AT), signature)
    assert not old.verify(head_message("anchor", ORG, 7, "a" * 64, AT), signature)
    other = CheckpointSigner(["another-secret-key-of-at-least-32-chars"])
    assert not other.verify(message, signature)
    rotated = CheckpointSigner(
        ["another-secret-key-of-at-least-32-chars", "old-secret-key-of-at-least-32-chars!!"]
    )
    assert rotated.verify(message, signature)
    assert rotated.sign(message) == other.sign(message)


def test_csv_cells_never_start_a_formula() -> None:
    for bad in ("=1+1", "+1", "-2-3", "@SUM(A1)", "\tx", "\rx"):
        assert csv_safe(bad) == "'" + bad
    assert csv_safe("report.pdf") == "report.pdf"
    assert csv_safe("") == ""


def test_month_partitions() -> None:
    assert partition_name(date(2026, 12, 1)) == "audit_entries_2026_12"
    assert next_month(date(2026, 12, 1)) == date(2027, 1, 1)
    assert month_of_partition("audit_entries_2027_01") == date(2027, 1, 1)
    assert month_of_partition("audit_entries_default") is None
