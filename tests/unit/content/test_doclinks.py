"""The decision behind document links kept in both directions (``domain.doclinks``):
both sides of a write, what is refused, what a writer who cannot see a link keeps."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from hub.content.domain.doclinks import LinkPlan, Target, as_links, plan_links, unlink_all
from hub.content.domain.taxonomy import MAX_LINKS
from hub.kernel.errors import Invalid

ORG = uuid.UUID("0190a000-0000-7000-8000-00000000000f")
A, B, C, D = (f"0190a000-0000-7000-8000-00000000000{n}" for n in range(1, 5))
KEYS = frozenset({"see", "also"})


def _plan(
    current: dict[str, Any],
    wanted: dict[str, Any],
    targets: dict[str, Target],
    readable: frozenset[str] | None = None,
    source: str = A,
) -> LinkPlan:
    return plan_links(
        source=source,
        organisation_id=ORG,
        keys=KEYS,
        current=current,
        wanted=wanted,
        targets=targets,
        readable=readable,
    )


def _doc(
    fields: dict[str, Any] | None = None, *, trashed: bool = False, org: uuid.UUID = ORG
) -> Target:
    return Target(organisation_id=org, trashed=trashed, fields=fields or {})


def _refused(call: Any) -> tuple[str, str]:
    with pytest.raises(Invalid) as refused:
        call()
    error = refused.value.errors[0]
    return error.field, error.message


def test_a_new_link_is_mirrored_and_a_dropped_one_unmirrored() -> None:
    plan = _plan({}, {"see": [B, C], "n": 1}, {B: _doc({"n": 2}), C: _doc({"see": [D]})})
    assert plan.fields == {"see": [B, C], "n": 1}
    assert plan.others == {B: {"n": 2, "see": [A]}, C: {"see": [D, A]}}

    plan = _plan({"see": [B, C]}, {"see": [C]}, {B: _doc({"see": [A]}), C: _doc({"see": [D, A]})})
    assert plan.fields == {"see": [C]}
    assert plan.others == {B: {}}  # C already links A: unchanged, not rewritten


def test_each_field_is_its_own_link() -> None:
    plan = _plan({"see": [B]}, {"also": [B]}, {B: _doc({"see": [A]})})
    assert plan.fields == {"also": [B]}
    assert plan.others == {B: {"also": [A]}}


@pytest.mark.parametrize(
    ("wanted", "targets", "message"),
    [
        ({"see": [A]}, {A: _doc()}, "see: a document cannot link to itself."),
        ({"see": [B]}, {}, f"see: no document {B} here."),
        ({"see": [B]}, {B: _doc(org=uuid.uuid4())}, f"see: no document {B} here."),
        ({"see": [B]}, {B: _doc(trashed=True)}, f"see: document {B} is in the trash."),
    ],
)
def test_refusals_name_the_field(
    wanted: dict[str, Any], targets: dict[str, Target], message: str
) -> None:
    assert _refused(lambda: _plan({}, wanted, targets)) == ("customFields.see", message)


def test_an_unreadable_document_is_refused_like_a_missing_one() -> None:
    missing = _refused(lambda: _plan({}, {"see": [B]}, {}, readable=frozenset()))
    unreadable = _refused(lambda: _plan({}, {"see": [B]}, {B: _doc()}, readable=frozenset()))
    assert missing == unreadable


def test_a_link_made_before_the_trash_stays() -> None:
    plan = _plan({"see": [B]}, {"see": [B], "n": 1}, {B: _doc({"see": [A]}, trashed=True)})
    assert plan == LinkPlan(fields={"see": [B], "n": 1}, others={})
    # and may be dropped: the reverse side is kept by the system, trash or not
    plan = _plan({"see": [B]}, {}, {B: _doc({"see": [A]}, trashed=True)})
    assert plan.others == {B: {}}


def test_links_the_writer_cannot_see_are_kept() -> None:
    targets = {B: _doc({"see": [A]}), C: _doc({"see": [A]}), D: _doc()}
    plan = _plan({"see": [B, C]}, {"see": [D]}, targets, readable=frozenset({B, D}))
    assert plan.fields == {"see": [D, C]}  # C hidden from the writer: kept
    assert plan.others == {B: {}, D: {"see": [A]}}
    # sending the hidden id is refused like any unreadable one, even though it is linked
    assert _refused(lambda: _plan({"see": [C]}, {"see": [C]}, targets, readable=frozenset()))[
        1
    ] == (f"see: no document {C} here.")


def test_at_most_max_links_on_either_side() -> None:
    many = [str(uuid.UUID(int=n + 1000)) for n in range(MAX_LINKS)]
    full = {B: _doc({"see": many})}
    assert _refused(lambda: _plan({}, {"see": [B]}, full)) == (
        "customFields.see",
        f"see: document {B} already links {MAX_LINKS} documents.",
    )
    hidden = {i: _doc({"see": [A]}) for i in many}
    hidden[B] = _doc()
    assert (
        _refused(lambda: _plan({"see": many}, {"see": [B]}, hidden, readable=frozenset({B})))[1]
        == f"see: at most {MAX_LINKS} documents."
    )


def test_the_first_form_and_dangling_ids_are_tidied() -> None:
    # one id stored as a string reads as a list of one; an id naming no document is let go
    plan = _plan({"see": B, "also": [C]}, {"see": [B]}, {B: _doc({"see": A})})
    assert plan.fields == {"see": [B]}
    assert plan.others == {}
    assert as_links(B) == [B]
    assert as_links(3) == []


def test_unlink_all_removes_the_document_everywhere() -> None:
    targets = {
        A: _doc({"see": [B]}),
        B: _doc({"see": [A, C], "also": [A], "n": 1}),
        C: _doc({"see": [D]}),
    }
    assert unlink_all(source=A, keys=KEYS, targets=targets) == {B: {"see": [C], "n": 1}}
