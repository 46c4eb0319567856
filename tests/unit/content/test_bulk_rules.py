"""The bulk edit's refusal: one problem, the most fundamental status, every document."""

from __future__ import annotations

import uuid

import pytest

from hub.content.domain.bulk import Refusal, duplicates, refused

A, B, C = (uuid.UUID(int=i) for i in (1, 2, 3))


def test_duplicates_are_named_once_in_the_order_repeated() -> None:
    assert duplicates([A, B, A, C, B, A]) == [A, B]
    assert duplicates([A, B, C]) == []


def test_the_most_fundamental_status_wins_and_every_document_is_listed() -> None:
    problem = refused(
        [
            Refusal(C, 409, "legal_hold", "Held."),
            Refusal(B, 403, "permission_denied", "No.", "content.documents.delete"),
        ],
        [A, B, C],
    )
    assert (problem.status_code, problem.code) == (403, "permission_denied")
    assert problem.detail == f"Nothing was changed: No (document {B})."
    assert problem.extra == {
        "documents": [  # request order, whatever order they were found in
            {
                "id": str(B),
                "status": 403,
                "code": "permission_denied",
                "reason": "No.",
                "permission": "content.documents.delete",
            },
            {"id": str(C), "status": 409, "code": "legal_hold", "reason": "Held."},
        ]
    }


def test_codes_that_differ_at_one_status_are_bulk_refused() -> None:
    problem = refused(
        [Refusal(A, 409, "legal_hold", "Held."), Refusal(B, 409, "document_trashed", "Gone.")],
        [A, B],
    )
    assert (problem.status_code, problem.code) == (409, "bulk_refused")
    assert problem.detail == f"Nothing was changed: refused (documents {A}, {B})."


def test_nothing_refused_is_no_problem() -> None:
    with pytest.raises(ValueError, match="nothing was refused"):
        refused([], [A])


def test_the_detail_names_a_few_ids_and_extra_all() -> None:
    ids = [uuid.UUID(int=i) for i in range(1, 9)]
    problem = refused([Refusal(i, 404, "not_found", "No such document.") for i in ids], ids)
    named = ", ".join(str(i) for i in ids[:5])
    expected = f"Nothing was changed: No such document (documents {named} and 3 more)."
    assert problem.detail == expected
    assert problem.extra is not None
    assert len(problem.extra["documents"]) == 8
