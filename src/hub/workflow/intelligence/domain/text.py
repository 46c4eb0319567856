"""Text insights without a model (pure, no I/O): language, keywords by frequency, a short
extractive summary, and dates and amounts with their positions.

Language: the share of each language's most frequent function words among the text's
words (English, German, French, Spanish, Italian, Dutch, Portuguese); "und" when no
language reaches 5 % of the words. Dates and amounts are found by regular expressions
(ISO ``2024-03-15``, ``15.03.2024``, ``15/03/2024``, ``15 March 2024``, ``March 15, 2024``;
amounts with a currency symbol or code before or after, ``1.234,56`` and ``1,234.56``
both read); dateparser was left out because searching a whole text with it is too slow
for a request (see docs/intelligence.md).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "and",
            "of",
            "to",
            "in",
            "is",
            "that",
            "for",
            "it",
            "with",
            "as",
            "was",
            "on",
            "are",
            "be",
            "this",
            "by",
            "not",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "und",
            "in",
            "den",
            "von",
            "zu",
            "das",
            "mit",
            "sich",
            "des",
            "auf",
            "für",
            "ist",
            "im",
            "dem",
            "nicht",
            "ein",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "de",
            "des",
            "et",
            "en",
            "un",
            "une",
            "du",
            "est",
            "que",
            "pour",
            "qui",
            "dans",
            "pas",
            "au",
            "sur",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "de",
            "que",
            "y",
            "en",
            "los",
            "del",
            "se",
            "las",
            "por",
            "un",
            "para",
            "con",
            "no",
            "una",
            "su",
            "al",
            "es",
        ]
    ),
    "it": frozenset(
        [
            "il",
            "di",
            "che",
            "e",
            "la",
            "per",
            "un",
            "in",
            "non",
            "sono",
            "del",
            "le",
            "della",
            "si",
            "con",
            "una",
            "da",
        ]
    ),
    "nl": frozenset(
        [
            "de",
            "het",
            "een",
            "van",
            "en",
            "in",
            "is",
            "dat",
            "op",
            "te",
            "met",
            "voor",
            "niet",
            "zijn",
            "aan",
            "er",
        ]
    ),
    "pt": frozenset(
        [
            "o",
            "a",
            "de",
            "que",
            "e",
            "do",
            "da",
            "em",
            "um",
            "para",
            "com",
            "não",
            "uma",
            "os",
            "no",
            "se",
            "na",
            "por",
        ]
    ),
}
ALL_STOPWORDS = frozenset().union(*STOPWORDS.values())
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def language(text: str) -> str:
    tokens = words(text)
    if not tokens:
        return "und"
    shares = {
        lang: sum(1 for w in tokens if w in stop) / len(tokens) for lang, stop in STOPWORDS.items()
    }
    best = max(shares, key=lambda lang: shares[lang])
    return best if shares[best] >= 0.05 else "und"


def frequent_terms(text: str, count: int = 8) -> list[str]:
    tally = Counter(w for w in words(text) if w not in ALL_STOPWORDS and len(w) > 2)
    return [w for w, _ in tally.most_common(count)]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^\W\d_])|\n+")


def summary(text: str, sentences: int = 3, max_chars: int = 400) -> str:
    """The sentences whose words are most frequent in the whole text, in text order."""
    found = [s.strip() for s in _SENTENCE_END.split(text)]
    found = [s for s in found if len(words(s)) >= 3]
    if not found:
        return text[:max_chars].strip()
    tally = Counter(w for w in words(text) if w not in ALL_STOPWORDS)
    scored = []
    for i, sentence in enumerate(found):
        tokens = [w for w in words(sentence) if w not in ALL_STOPWORDS]
        score = sum(tally[w] for w in tokens) / (len(tokens) or 1)
        scored.append((score, i))
    chosen = sorted(i for _, i in sorted(scored, reverse=True)[:sentences])
    out = " ".join(found[i] for i in chosen)
    return out if len(out) <= max_chars else out[: max_chars - 1].rstrip() + "…"


@dataclass(frozen=True)
class Found:
    text: str
    start: int
    end: int
    value: str  # ISO date, or the amount as a decimal string
    currency: str | None = None


MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("january", "jan", "januar", "janvier", "enero"),
            ("february", "feb", "februar", "février", "febrero"),
            ("march", "mar", "märz", "mars", "marzo"),
            ("april", "apr", "avril", "abril"),
            ("may", "mai", "mayo"),
            ("june", "jun", "juni", "juin", "junio"),
            ("july", "jul", "juli", "juillet", "julio"),
            ("august", "aug", "août", "agosto"),
            ("september", "sep", "sept", "septembre", "septiembre"),
            ("october", "oct", "oktober", "octobre", "octubre"),
            ("november", "nov", "novembre", "noviembre"),
            ("december", "dec", "dezember", "décembre", "diciembre"),
        ]
    )
    for name in names
}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DATES = [
    (re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"), ("y", "m", "d")),
    (re.compile(r"\b(\d{1,2})[./](\d{1,2})[./](\d{4})\b"), ("d", "m", "y")),
    (re.compile(rf"\b(\d{{1,2}})\.?\s+({_MONTH})\.?\s+(\d{{4}})\b", re.I), ("d", "M", "y")),
    (re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})\b", re.I), ("M", "d", "y")),
]


def dates(text: str) -> list[Found]:
    out: list[Found] = []
    taken: list[tuple[int, int]] = []
    for pattern, order in _DATES:
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            parts = dict(zip(order, m.groups(), strict=True))
            month = MONTHS[parts["M"].lower()] if "M" in parts else int(parts["m"])
            try:
                value = date(int(parts["y"]), month, int(parts["d"]))
            except ValueError:
                continue
            taken.append((m.start(), m.end()))
            out.append(Found(m.group(), m.start(), m.end(), value.isoformat()))
    return sorted(out, key=lambda f: f.start)


_CURRENCY = r"(?P<cur>[€$£¥]|EUR|USD|GBP|CHF|JPY)"
_NUMBER = r"(?P<num>\d{1,3}(?:[.,' ]\d{3})*(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)"
_AMOUNTS = [
    re.compile(rf"{_CURRENCY}\s?{_NUMBER}(?![\d])"),
    re.compile(rf"(?<![\d.,]){_NUMBER}\s?(?:{_CURRENCY}\b|(?P<sym>€))"),
]
_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY"}


def _decimal(raw: str) -> str:
    digits = raw.replace(" ", "").replace("'", "")
    last = max(digits.rfind("."), digits.rfind(","))
    if last >= 0 and len(digits) - last - 1 in (1, 2):
        whole, cents = digits[:last], digits[last + 1 :]
        return f"{whole.replace('.', '').replace(',', '')}.{cents.ljust(2, '0')}"
    return digits.replace(".", "").replace(",", "") + ".00"


def amounts(text: str) -> list[Found]:
    out: list[Found] = []
    taken: list[tuple[int, int]] = []
    for pattern in _AMOUNTS:
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            groups = m.groupdict()
            num = groups["num"]
            cur = groups.get("cur") or groups.get("sym")
            taken.append((m.start(), m.end()))
            currency = _SYMBOLS.get(cur, cur) if cur else None
            out.append(Found(m.group(), m.start(), m.end(), _decimal(num), currency))
    return sorted(out, key=lambda f: f.start)
