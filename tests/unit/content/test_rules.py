"""Content's pure rules, without a database: the document rule, file names and types,
and the HTTP helpers of file responses."""

from __future__ import annotations

import uuid

import pytest

from hub.content.controllers.files import (
    RangeNotSatisfiable,
    content_disposition,
    not_modified,
    parse_range,
)
from hub.content.domain.access import (
    ADMIN,
    DELETE,
    READ,
    SHARE,
    WRITE,
    Action,
    Caller,
    Facts,
    ShareAccess,
    capabilities,
)
from hub.content.domain.files import (
    can_carry_script,
    is_allowed,
    may_show_inline,
    sanitise_file_name,
    sniff_media_type,
)

ME, OTHER, ORG = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def caller(*granted: str, scopes: tuple[str, ...] | None = None) -> Caller:
    narrowed = frozenset(granted) if scopes is None else frozenset(granted) & frozenset(scopes)
    return Caller(
        organisation_id=ORG,
        user_id=ME,
        role_ids=frozenset(),
        granted=narrowed,
        scopes=None if scopes is None else frozenset(scopes),
    )


ALL = frozenset(Action) - {Action.HOLD}


@pytest.mark.parametrize(
    ("who", "facts", "expected"),
    [
        (caller(), Facts(owner_id=ME, restricted=True), ALL),
        (caller(), Facts(owner_id=OTHER, restricted=False), frozenset()),
        (caller(READ), Facts(owner_id=OTHER, restricted=False), {Action.READ}),
        (caller(READ), Facts(owner_id=OTHER, restricted=True), frozenset()),
        (caller(READ, WRITE, DELETE, SHARE), Facts(owner_id=OTHER, restricted=False), ALL),
        (caller(READ, WRITE, DELETE, SHARE), Facts(owner_id=OTHER, restricted=True), frozenset()),
        (caller(ADMIN), Facts(owner_id=OTHER, restricted=True), frozenset(Action)),
        (caller(), Facts(owner_id=OTHER, restricted=True, share=ShareAccess.VIEW), {Action.READ}),
        (
            caller(),
            Facts(owner_id=OTHER, restricted=True, share=ShareAccess.EDIT),
            {Action.READ, Action.EDIT},
        ),
        (caller(WRITE), Facts(owner_id=OTHER, restricted=False), frozenset()),  # edit needs read
        # an API key: ownership and shares need the scope of the action
        (caller(WRITE, scopes=(WRITE,)), Facts(owner_id=ME, restricted=False), frozenset()),
        (
            caller(READ, WRITE, scopes=(READ,)),
            Facts(owner_id=ME, restricted=False),
            {Action.READ},
        ),
        (
            caller(ADMIN, READ, scopes=(READ,)),
            Facts(owner_id=OTHER, restricted=True, share=ShareAccess.EDIT),
            {Action.READ},
        ),
    ],
)
def test_the_document_rule(who: Caller, facts: Facts, expected: frozenset[Action]) -> None:
    assert capabilities(who, facts) == frozenset(expected)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\a.doc", "a.doc"),
        ("a\x00b\x1fc\x7f.txt", "abc.txt"),
        ("\u202egnp.exe", "gnp.exe"),
        ("  .hidden  ", "hidden"),
        ("e\u0301t\u00e9.txt", "\u00e9t\u00e9.txt"),
        ("", "file"),
        ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
    ],
)
def test_file_names(raw: str, clean: str) -> None:
    assert sanitise_file_name(raw) == clean


@pytest.mark.parametrize(
    ("head", "name", "media_type"),
    [
        (b"%PDF-1.7", "x.txt", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n....", "x.pdf", "image/png"),
        (
            b"PK\x03\x04....",
            "a.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (b"PK\x03\x04....", "a.zip", "application/zip"),
        (b"\x00\x01\x02", "a.pdf", "application/octet-stream"),
        (b"", "a.txt", "text/plain"),  # empty is valid text: an empty upload round-trips
        (b"a,b\n1,2\n", "t.csv", "text/csv"),
        (b"hello", "t.html", "text/html"),  # a name may make text *more* restricted
        (b"  <!DOCTYPE html><p>", "t.txt", "text/html"),
        (b'<?xml version="1.0"?><svg>', "t.png", "image/svg+xml"),
        (b"caf\xc3", "t.txt", "text/plain"),  # a character cut by the window
    ],
)
def test_sniffing(head: bytes, name: str, media_type: str) -> None:
    assert sniff_media_type(head, name) == media_type


def test_allow_list_and_display() -> None:
    assert is_allowed("image/png", ["image/*"])
    assert is_allowed("text/html", ["*/*"])
    assert not is_allowed("text/html", ["text/plain", "image/*"])
    assert can_carry_script("image/svg+xml")
    assert can_carry_script("application/atom+xml")
    assert not may_show_inline("text/html")
    assert may_show_inline("application/pdf")


@pytest.mark.parametrize(
    ("header", "span"),
    [
        (None, None),
        ("bytes=0-9", (0, 10)),
        ("bytes=5-", (5, 100)),
        ("bytes=-10", (90, 100)),
        ("bytes=-1000", (0, 100)),
        ("bytes=90-1000", (90, 100)),
        ("bytes=0-1,3-4", None),
        ("pages=1-2", None),
        ("bytes=7-3", None),
        ("bytes=-", None),
    ],
)
def test_ranges(header: str | None, span: tuple[int, int] | None) -> None:
    assert parse_range(header, 100) == span


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=0-", 0)]
)
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        parse_range(header, size)
    assert caught.value.headers == {"Content-Range": f"bytes */{size}"}


def test_disposition_and_etags() -> None:
    assert content_disposition("attachment", 'a "b"\\c.txt') == (
        "attachment; filename=\"a _b__c.txt\"; filename*=UTF-8''a%20%22b%22%5Cc.txt"
    )
    assert content_disposition("inline", "Zoë.pdf") == (
        "inline; filename=\"Zo_.pdf\"; filename*=UTF-8''Zo%C3%AB.pdf"
    )
    assert not_modified('W/"abc", "d"', '"abc"')
    assert not_modified("*", '"abc"')
    assert not not_modified('"abd"', '"abc"')
    assert not not_modified(None, '"abc"')
