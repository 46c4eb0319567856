"""Search rules without a database: snippet escaping, query cleaning, languages."""

from __future__ import annotations

import pytest

from hub.content.domain.search import (
    LANGUAGES,
    Marks,
    clean_language,
    clean_query,
    config_of,
    like_pattern,
    plain_snippet,
)
from hub.kernel.errors import Invalid


def test_only_the_sentinels_become_markup() -> None:
    marks = Marks(start="S1", stop="E1")
    headline = "a <b>&amp; \"x\" S1budgetE1 <mark>no</mark> 'y'"
    assert marks.to_html(headline) == (
        "a &lt;b&gt;&amp;amp; &quot;x&quot; <mark>budget</mark> "
        "&lt;mark&gt;no&lt;/mark&gt; &#x27;y&#x27;"
    )


def test_sentinels_are_fresh_and_plain() -> None:
    one, two = Marks.fresh(), Marks.fresh()
    assert one != two
    assert one.start.isalnum()
    assert one.stop.isalnum()
    assert one.start != one.stop
    assert f"StartSel={one.start}, StopSel={one.stop}" in one.options()


def test_queries_are_cleaned() -> None:
    assert clean_query("  late \t payment\n") == "late payment"
    with pytest.raises(Invalid) as refused:
        clean_query(" \t\n ")
    assert refused.value.status_code == 422


def test_languages_map_to_hub_configurations() -> None:
    assert config_of("french") == "content.hub_french"
    assert "simple" in LANGUAGES
    assert clean_language("german") == "german"
    with pytest.raises(ValueError, match="klingon"):
        config_of("klingon")
    with pytest.raises(Invalid):
        clean_language("content.hub_french; DROP TABLE x")


def test_plain_snippets_are_escaped_and_short() -> None:
    assert plain_snippet("Fish & <b>chips</b>") == "Fish &amp; &lt;b&gt;chips&lt;/b&gt;"
    long = plain_snippet("word " * 100, limit=20)
    assert long == "word word word word ..."


def test_like_patterns_are_literal() -> None:
    assert like_pattern("50%_off\\") == "50\\%\\_off\\\\"
