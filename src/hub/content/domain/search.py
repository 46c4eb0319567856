"""Rules of full-text search: the languages an organisation may search in, what a query
may be, and how a highlighted snippet becomes safe HTML.

Snippets are cut by PostgreSQL's ``ts_headline`` around the matches, which it wraps in
two sentinel strings chosen per request (random, so no document can contain them). The
whole snippet is then HTML-escaped and only the sentinels become ``<mark>``/``</mark>``:
whatever a document's text holds (``<script>``, ``&``), it reaches the client as text.
"""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass

from hub.kernel.problems import field_invalid

#: Languages an organisation may choose (``PUT /orgs/{orgId}/search-settings``); each is a
#: text-search configuration ``content.hub_<language>``: that language's stemmer and stop
#: words behind ``unaccent`` (so ``café`` and ``cafe`` are one word). ``simple``: no
#: stemming, no stop words, for mixed or other languages.
LANGUAGES: tuple[str, ...] = (
    "danish",
    "dutch",
    "english",
    "finnish",
    "french",
    "german",
    "hungarian",
    "italian",
    "norwegian",
    "portuguese",
    "romanian",
    "russian",
    "simple",
    "spanish",
    "swedish",
    "turkish",
)
DEFAULT_LANGUAGE = "english"

#: Longest ``q`` (characters), as the OpenAPI document states it.
MAX_QUERY = 200
#: Suggestions ``/search/autocomplete`` answers at most.
MAX_SUGGESTIONS = 10
#: Least trigram word similarity a typo-tolerant match needs (0..1).
FUZZY_THRESHOLD = 0.3
#: Typo-tolerant matches rank below every full-text match: their similarity times this.
FUZZY_WEIGHT = 0.01
#: A query matching more documents than this is ranked over two windows of this size: the
#: best title/tag/field hits and the most recently changed hits (ranking reads each hit's
#: whole term vector; over every hit of a word most documents hold, that is seconds).
RANK_WINDOW = 500
#: Deepest result a cursor reaches (rank order has no stable keyset: the cursor is an
#: offset, bounded so a page never sorts an unbounded prefix).
MAX_OFFSET = 1000


def config_of(language: str) -> str:
    """The text-search configuration of a language (``content.hub_french``)."""
    if language not in LANGUAGES:
        raise ValueError(language)
    return f"content.hub_{language}"


def clean_query(q: str) -> str:
    """The query as searched: 422 when nothing but blanks is left."""
    cleaned = " ".join(q.split())
    if not cleaned:
        raise field_invalid("q", "Type something to search for.", source="query")
    return cleaned


def clean_language(language: str) -> str:
    if language not in LANGUAGES:
        raise field_invalid("language", "one of " + ", ".join(LANGUAGES))
    return language


@dataclass(frozen=True)
class Marks:
    """The sentinels one search asks ``ts_headline`` to put around matches."""

    start: str
    stop: str

    @classmethod
    def fresh(cls) -> Marks:
        token = secrets.token_hex(8)
        return cls(start=f"hubmarkstart{token}", stop=f"hubmarkstop{token}")

    def options(self) -> str:
        """``ts_headline`` options: these sentinels, up to two fragments."""
        return (
            f"StartSel={self.start}, StopSel={self.stop}, "
            'MaxFragments=2, MaxWords=30, MinWords=10, FragmentDelimiter=" ... "'
        )

    def to_html(self, headline: str) -> str:
        """The headline as HTML: everything escaped, only the sentinels become marks."""
        escaped = html.escape(headline, quote=True)
        return escaped.replace(self.start, "<mark>").replace(self.stop, "</mark>")


def plain_snippet(text: str, limit: int = 200) -> str:
    """A snippet without highlights (typo-tolerant matches): the text's start, escaped."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[:limit].rsplit(" ", 1)[0] + " ..."
    return html.escape(flat, quote=True)


def like_pattern(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (``\\`` is the escape character)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
