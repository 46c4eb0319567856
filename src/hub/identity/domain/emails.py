"""E-mail addresses as identity compares them."""

from __future__ import annotations

import re
import unicodedata

_SHAPE = re.compile(r"^[^@\s]+@[^@\s.][^@\s]*$")
MAX_LENGTH = 254


def normalise_email(raw: str) -> str:
    """One spelling per mailbox: NFKC, trimmed, lower-cased (local part included).

    Lower-casing the local part is what makes ``Alice@x``, ``alice@x`` and `` alice@x``
    one account and one brute-force counter; no mainstream provider treats case as
    significant, and treating it so would let look-alike accounts coexist.
    """
    return unicodedata.normalize("NFKC", raw).strip().lower()


def is_valid_email(normalised: str) -> bool:
    return len(normalised) <= MAX_LENGTH and bool(_SHAPE.match(normalised))


def mailbox_key(normalised: str) -> str:
    """The mailbox an address delivers to, for limits on mail: ``alice+x@example.com`` and
    ``alice@example.com`` reach the same inbox at most providers, so they share a budget
    (otherwise ``+1``, ``+2``... would each get a fresh one)."""
    local, at, domain = normalised.rpartition("@")
    if not at:
        return normalised
    return f"{local.split('+', 1)[0] or local}@{domain}"
