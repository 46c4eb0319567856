"""Matching rules of tags and document types (Paperless-ngx's matching): a rule on a tag
or a type says which documents' text earns it when they arrive.

Algorithms, all case-insensitive unless ``case_sensitive``:

- ``any``: one of the pattern's words appears as a word of the text (a quoted phrase,
  ``"due date"``, counts as one word);
- ``all``: every one of them does;
- ``literal``: the pattern as written appears, not inside a longer word;
- ``regex``: the pattern, a regular expression in RE2's syntax, is found. RE2 runs in
  time linear in the text whatever the pattern, so a hostile or clumsy expression
  cannot stall a worker over a two-million-character document (back-references and
  look-arounds, which need backtracking, are refused when the rule is saved; ``\\b`` is
  an ASCII word boundary there).

"Appears as a word" means no letter or digit touches it on either side (Unicode: ``café``
is a word of ``au café.``), so the words of ``any``, ``all`` and ``literal`` are matched
by escaped literals, never by a pattern the user wrote.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import re2

K = TypeVar("K")
ALGORITHMS = ("none", "any", "all", "literal", "regex")
MAX_PATTERN = 256
#: RE2's memory for one compiled rule (its default; bounds the automaton it builds).
_RE2_MAX_MEM = 8 << 20
_WORDS = re.compile(r'"([^"]+)"|(\S+)')


class BadRule(ValueError):
    """The rule cannot be used as written (the message says why, for a 422)."""


@dataclass(frozen=True)
class Matching:
    algorithm: str = "none"
    pattern: str = ""
    case_sensitive: bool = False


def words(pattern: str) -> list[str]:
    """The words of an ``any``/``all`` pattern: quoted phrases whole, the rest split on
    white space."""
    return [quoted or bare for quoted, bare in _WORDS.findall(pattern) if quoted or bare]


def _word(text: str, flags: int) -> re.Pattern[str]:
    """``text`` as written, with no letter or digit (or ``_``) right before or after."""
    return re.compile(rf"(?<!\w){re.escape(text)}(?!\w)", flags)


@functools.lru_cache(maxsize=4096)
def matcher(rule: Matching) -> Callable[[str], bool] | None:
    """A test of a document's text for the rule (None for ``none``); :class:`BadRule`
    when the rule cannot be used. Compiled once per rule and process (a rule is a frozen
    value: a changed rule is another key), so a worker pays the compilation once, not
    once per document."""
    if rule.algorithm == "none":
        return None
    pattern = rule.pattern.strip()
    if not pattern:
        raise BadRule("A matching rule needs a pattern.")
    flags = 0 if rule.case_sensitive else re.IGNORECASE
    if rule.algorithm == "regex":
        options = re2.Options()
        options.case_sensitive = rule.case_sensitive
        options.log_errors = False
        options.max_mem = _RE2_MAX_MEM
        try:
            compiled = re2.compile(pattern, options)
        except re2.error as exc:
            reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
            raise BadRule(f"Not a regular expression RE2 accepts: {reason}.") from None
        return lambda text: compiled.search(text) is not None
    if rule.algorithm == "literal":
        literal = _word(pattern, flags)
        return lambda text: literal.search(text) is not None
    found = [_word(w, flags) for w in words(pattern)]
    if rule.algorithm == "any":
        return lambda text: any(w.search(text) for w in found)
    if rule.algorithm == "all":
        return lambda text: all(w.search(text) for w in found)
    raise BadRule(f"Unknown matching algorithm {rule.algorithm!r}.")


def matched(rules: list[tuple[K, Matching]], text: str) -> list[K]:
    """The keys of the rules the text satisfies, in the order given (a rule that cannot
    be used is skipped: it was checked when saved)."""
    out: list[K] = []
    for key, rule in rules:
        try:
            test = matcher(rule)
        except BadRule:
            continue
        if test is not None and test(text):
            out.append(key)
    return out
