"""Matching rules without a server: what each algorithm takes from a text, whole words
only, case, quoted phrases, and the regular expressions RE2 refuses."""

from __future__ import annotations

import pytest

from hub.content.domain.matching import BadRule, Matching, matched, matcher, words

TEXT = "Rechnung Nr. 42 — Montant dû : 120 EUR. Due date: 2026-12-31. Café au lait."


def hit(algorithm: str, pattern: str, case_sensitive: bool = False, text: str = TEXT) -> bool:
    test = matcher(Matching(algorithm, pattern, case_sensitive))
    assert test is not None
    return test(text)


def test_any_and_all_take_whole_words_and_quoted_phrases() -> None:
    assert words('invoice "due date" Rechnung') == ["invoice", "due date", "Rechnung"]
    assert hit("any", "invoice rechnung")
    assert not hit("any", "invoice receipt")
    assert hit("all", 'rechnung "due date" café')
    assert not hit("all", "rechnung invoice")
    assert not hit("any", "Rech")  # not inside a longer word
    assert not hit("any", "caf")
    assert hit("any", "dû")  # Unicode words


def test_literal_is_the_text_as_written_and_case_is_chosen() -> None:
    assert hit("literal", "Nr. 42")
    assert hit("literal", "montant DÛ")
    assert not hit("literal", "montant DÛ", case_sensitive=True)
    assert not hit("literal", "Nr. 4")  # 42 goes on
    assert not hit("any", "RECHNUNG", case_sensitive=True)


def test_regex_runs_on_re2_and_what_it_refuses_is_said() -> None:
    assert hit("regex", r"\d{4}-\d{2}-\d{2}")
    assert hit("regex", r"rechnung\s+nr")
    assert not hit("regex", r"rechnung\s+nr", case_sensitive=True)
    for bad in (r"(a)\1", r"(?<=a)b", "(unclosed"):
        with pytest.raises(BadRule, match="RE2"):
            matcher(Matching("regex", bad))
    # The classic catastrophic backtracking pattern is linear on RE2.
    assert not hit("regex", r"(a+)+$", text="a" * 50_000 + "!")


def test_none_matches_nothing_and_a_rule_needs_a_pattern() -> None:
    assert matcher(Matching()) is None
    with pytest.raises(BadRule, match="needs a pattern"):
        matcher(Matching("any", "  "))
    rules: list[tuple[object, Matching]] = [
        ("invoice", Matching("any", "rechnung")),
        ("broken", Matching("regex", "(")),
        ("off", Matching()),
        ("eur", Matching("literal", "120 EUR")),
    ]
    assert matched(rules, TEXT) == ["invoice", "eur"]
