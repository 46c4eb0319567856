"""The pure rules of conversations: what a conversation is made of, what a message may
say, who may change whom."""

from __future__ import annotations

import uuid

import pytest

from hub.communication.domain.conversations import (
    MAX_ATTACHMENTS,
    MAX_BODY,
    MAX_PARTICIPANTS,
    check_attachments,
    check_body,
    check_may_change_people,
    check_own_message,
    direct_pair,
    plan,
)
from hub.kernel.errors import AppError, Conflict, Forbidden, Invalid

A, B, C = sorted(uuid.uuid4() for _ in range(3))


def _field(exc: pytest.ExceptionInfo[AppError]) -> str:
    assert exc.value.errors is not None
    return exc.value.errors[0].field


def test_direct_by_default_for_one_other_person_without_a_title() -> None:
    assert plan(A, [B], kind=None, title=None).kind == "direct"
    assert plan(A, [B, A, B], kind=None, title=None).participants == [A, B]
    assert plan(A, [B], kind=None, title=" Plans ").kind == "group"
    assert plan(A, [B], kind=None, title=" Plans ").title == "Plans"
    assert plan(A, [B, C], kind=None, title=None).kind == "group"
    assert plan(A, [B], kind="group", title=None).participants == [A, B]


@pytest.mark.parametrize(
    ("others", "kind", "title", "field"),
    [
        ([B, C], "direct", None, "participantIds"),
        ([B], "direct", "t", "title"),
        ([A], None, None, "participantIds"),
        ([], "group", "t", "participantIds"),
        ([B], None, "   ", "title"),
        ([B], None, "x\x00", "title"),
        ([B], None, "x" * 201, "title"),
        ([uuid.uuid4() for _ in range(MAX_PARTICIPANTS)], "group", None, "participantIds"),
    ],
)
def test_bad_conversations_name_the_field(
    others: list[uuid.UUID], kind: str | None, title: str | None, field: str
) -> None:
    with pytest.raises(Invalid) as exc:
        plan(A, others, kind=kind, title=title)  # type: ignore[arg-type]
    assert _field(exc) == field


def test_the_direct_pair_is_sorted() -> None:
    assert direct_pair(B, A) == direct_pair(A, B) == (A, B)


def test_message_text_rules() -> None:
    assert check_body(" as <b>sent</b> ", attachments=0) == " as <b>sent</b> "
    assert check_body("x" * MAX_BODY, attachments=0)
    assert check_body("", attachments=1) == ""
    for body, code in (
        ("a\x00", "invalid_text"),
        ("x" * (MAX_BODY + 1), "too_long"),
        (" ", "empty"),
    ):
        with pytest.raises(Invalid) as exc:
            check_body(body, attachments=0)
        assert (exc.value.code, _field(exc)) == (code, "body")
    ids = [uuid.uuid4() for _ in range(MAX_ATTACHMENTS)]
    assert check_attachments([*ids, ids[0]]) == ids
    with pytest.raises(Invalid):
        check_attachments([*ids, uuid.uuid4()])


def test_who_may_change_people_and_messages() -> None:
    check_may_change_people("group", "admin", A, None)
    check_may_change_people("group", "admin", A, B)
    check_may_change_people("group", "member", A, A)  # leaving
    with pytest.raises(Forbidden):
        check_may_change_people("group", "member", A, B)
    with pytest.raises(Forbidden):
        check_may_change_people("group", "member", A, None)
    with pytest.raises(Conflict):
        check_may_change_people("direct", "member", A, A)
    check_own_message(A, A, deleted=False)
    with pytest.raises(Forbidden):
        check_own_message(A, B, deleted=False)
    with pytest.raises(Conflict):
        check_own_message(A, A, deleted=True)
