"""The control-character walk that every request body goes through (hub.kernel.hygiene)."""

from __future__ import annotations

import pytest

from hub.kernel.hygiene import control_character_path


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"email": "a\x00@b.c"}, "email"),
        ({"members": [{"email": "ok"}, {"email": "x\x1b[2J"}]}, "members[1].email"),
        ({"labels": {"a\x01": "b"}}, "labels.a\x01"),
        (["ok", "del\x7f"], "[1]"),
        ("\x0b", ""),
        ({"a": {"b": ["\x08"]}}, "a.b[0]"),
    ],
)
def test_the_first_control_character_is_found_by_path(value: object, path: str) -> None:
    assert control_character_path(value) == path


@pytest.mark.parametrize(
    "value",
    [
        {"text": "tab\tline\nreturn\r"},
        {"name": "Zoë 李 🙂", "n": 1, "ok": True, "none": None, "f": 1.5},
        [],
        "",
    ],
)
def test_ordinary_text_passes(value: object) -> None:
    assert control_character_path(value) is None
