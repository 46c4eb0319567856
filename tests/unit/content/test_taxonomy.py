"""Custom-field values per type, tag depth, colours and select options."""

from __future__ import annotations

from typing import Any

import pytest

from hub.content.domain.taxonomy import (
    Definition,
    FieldType,
    check_depth,
    check_values,
    clean_colour,
    clean_options,
    field_value,
)
from hub.kernel.errors import Invalid

DOC = "0190a000-0000-7000-8000-000000000001"
OTHER = "0190a000-0000-7000-8000-000000000002"


@pytest.mark.parametrize(
    ("field_type", "value", "stored"),
    [
        (FieldType.STRING, "ACME", "ACME"),
        (FieldType.TEXT, "line\nline", "line\nline"),
        (FieldType.INTEGER, 42, 42),
        (FieldType.NUMBER, 12.5, 12.5),
        (FieldType.NUMBER, 3, 3),
        (
            FieldType.MONETARY,
            {"amount": "12.50", "currency": "EUR"},
            {"amount": "12.50", "currency": "EUR"},
        ),
        (FieldType.MONETARY, {"amount": 7, "currency": "USD"}, {"amount": "7", "currency": "USD"}),
        (FieldType.DATE, "2024-02-29", "2024-02-29"),
        (FieldType.BOOLEAN, False, False),
        (FieldType.URL, "https://example.com/a", "https://example.com/a"),
        (FieldType.SELECT, "paid", "paid"),
        (FieldType.MEMBER, DOC.upper(), DOC),
        (FieldType.DOCUMENT, DOC, [DOC]),  # the first form: one id, a list of one
        (FieldType.DOCUMENT, [DOC.upper(), DOC, OTHER], [DOC, OTHER]),  # folded, in order
        (FieldType.DOCUMENT, [], []),
    ],
)
def test_valid_values_are_kept_normalised(field_type: FieldType, value: Any, stored: Any) -> None:
    assert field_value(field_type, ["paid", "open"], value) == stored


@pytest.mark.parametrize(
    ("field_type", "value"),
    [
        (FieldType.STRING, 5),
        (FieldType.STRING, "x" * 256),
        (FieldType.TEXT, ["a"]),
        (FieldType.INTEGER, 1.5),
        (FieldType.INTEGER, True),
        (FieldType.INTEGER, 2**63),
        (FieldType.NUMBER, "1"),
        (FieldType.NUMBER, False),
        (FieldType.MONETARY, 12),
        (FieldType.MONETARY, {"amount": "x", "currency": "EUR"}),
        (FieldType.MONETARY, {"amount": "1", "currency": "eur"}),
        (FieldType.MONETARY, {"amount": "1"}),
        (FieldType.MONETARY, {"amount": "NaN", "currency": "EUR"}),
        (FieldType.DATE, "2023-02-29"),
        (FieldType.DATE, "2024-1-1"),
        (FieldType.BOOLEAN, "true"),
        (FieldType.URL, "ftp://example.com"),
        (FieldType.URL, "not a url"),
        (FieldType.SELECT, "closed"),
        (FieldType.MEMBER, "nope"),
        (FieldType.DOCUMENT, 3),
        (FieldType.DOCUMENT, [DOC, 3]),
        (FieldType.DOCUMENT, [DOC, "nope"]),
        (FieldType.DOCUMENT, {"id": DOC}),
        (FieldType.DOCUMENT, [f"0190a000-0000-7000-8000-{n:012d}" for n in range(51)]),
    ],
)
def test_invalid_values_are_refused(field_type: FieldType, value: Any) -> None:
    with pytest.raises(ValueError, match=r"must|at most"):
        field_value(field_type, ["paid", "open"], value)


def test_check_values_names_the_key_and_refuses_unknown_keys() -> None:
    defs = {"amount": Definition("amount", "integer", [])}
    assert check_values({"amount": 3, "gone": None} | {}, defs | {"gone": defs["amount"]}) == {
        "amount": 3
    }
    with pytest.raises(Invalid) as bad:
        check_values({"amount": "3"}, defs)
    assert bad.value.errors[0].field == "customFields.amount"
    with pytest.raises(Invalid) as unknown:
        check_values({"other": 1}, defs)
    assert unknown.value.errors[0].field == "customFields.other"


def test_an_empty_list_of_document_links_drops_the_key() -> None:
    defs = {"see": Definition("see", "document", [])}
    assert check_values({"see": []}, defs) == {}
    assert check_values({"see": DOC}, defs) == {"see": [DOC]}


def test_depth_five_is_the_limit() -> None:
    check_depth(4)
    check_depth(2, 3)
    with pytest.raises(Invalid):
        check_depth(5)
    with pytest.raises(Invalid):
        check_depth(3, 3)


def test_colours_and_options() -> None:
    assert clean_colour("#A0b1C2") == "#a0b1c2"
    assert clean_colour(None) is None
    with pytest.raises(Invalid):
        clean_colour("red")
    assert clean_options(FieldType.SELECT, ["a", " a ", "b"]) == ["a", "b"]
    assert clean_options(FieldType.STRING, None) == []
    with pytest.raises(Invalid):
        clean_options(FieldType.SELECT, [])
    with pytest.raises(Invalid):
        clean_options(FieldType.INTEGER, ["x"])
