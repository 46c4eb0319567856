"""The page plans of PDF edits: operations read page numbers as the pages stand after
the ones before; refusals name the request's field."""

from __future__ import annotations

import pytest

from hub.content.domain.pdf_pages import (
    MAX_PAGES,
    PagesInvalid,
    Placed,
    edited,
    merged,
    part_title,
    split_parts,
)


def _refused(call: object, *args: object) -> str:
    with pytest.raises(PagesInvalid) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value.field


def test_operations_apply_in_order_on_the_pages_as_they_stand() -> None:
    plan = edited(
        [
            {"kind": "delete", "pages": [1]},
            {"kind": "rotate", "pages": [1], "degrees": 90},  # the old page 2
            {"kind": "rotate", "pages": [1, 1], "degrees": 270},  # repeats fold; back to 0
            {"kind": "reorder", "order": [2, 1]},
        ],
        3,
    )
    assert plan == [Placed(0, 2), Placed(0, 1, 0)]
    assert edited([{"kind": "rotate", "pages": [2], "degrees": 180}], 2) == [
        Placed(0, 0),
        Placed(0, 1, 180),
    ]


def test_page_numbers_out_of_range_or_emptying_the_document_are_refused() -> None:
    assert _refused(edited, [{"kind": "delete", "pages": [3]}], 2) == "operations[0].pages"
    ops = [{"kind": "delete", "pages": [2]}, {"kind": "rotate", "pages": [2], "degrees": 90}]
    assert _refused(edited, ops, 2) == "operations[1].pages"
    assert _refused(edited, [{"kind": "delete", "pages": [1, 2]}], 2) == "operations[0].pages"
    assert _refused(edited, [{"kind": "reorder", "order": [2, 2]}], 2) == "operations[0].order"
    assert _refused(edited, [{"kind": "reorder", "order": [1]}], 2) == "operations[0].order"


def test_split_parts_are_their_pages_and_may_not_overlap() -> None:
    parts = split_parts([{"from": 1, "to": 2}, {"from": 4, "to": 4}], 5)
    assert parts == [[Placed(0, 0), Placed(0, 1)], [Placed(0, 3)]]
    assert _refused(split_parts, [{"from": 1, "to": 2}, {"from": 2, "to": 3}], 5) == "parts[1]"
    assert _refused(split_parts, [{"from": 3, "to": 6}], 5) == "parts[0].to"
    assert _refused(split_parts, [{"from": 3, "to": 2}], 5) == "parts[0].to"


def test_merge_keeps_the_inputs_order_within_the_page_bound() -> None:
    assert merged([1, 2]) == [Placed(0, 0), Placed(1, 0), Placed(1, 1)]
    assert _refused(merged, [MAX_PAGES, 1]) == "documentIds"


def test_a_parts_title_names_its_pages_and_fits() -> None:
    assert part_title("Contract", {"from": 3, "to": 5}, most=200) == "Contract (pages 3-5)"
    assert part_title("Contract", {"from": 2, "to": 2}, most=200) == "Contract (page 2)"
    long = part_title("x" * 300, {"from": 1, "to": 9}, most=200)
    assert len(long) == 200
    assert long.endswith(" (pages 1-9)")
