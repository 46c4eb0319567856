"""E-mail addresses as identity compares them.

What an account may be registered or invited under is a strict addr-spec
(:mod:`hub.kernel.addresses`, by email-validator): ``x<attacker@evil.com>``, ``a,b@x.com``
or a quoted local part would otherwise be stored and later handed to a mail library that
reads them as someone else's address.
"""

from __future__ import annotations

import unicodedata

from hub.kernel.addresses import AddressError, is_addr_spec, parse_address


def normalise_email(raw: str) -> str:
    """One spelling per mailbox: NFKC, trimmed, lower-cased (local part included), and an
    internationalised domain in its Unicode form (``xn--mnchen-3ya.de`` → ``münchen.de``).

    Lower-casing the local part is what makes ``Alice@x``, ``alice@x`` and `` alice@x``
    one account and one brute-force counter; no mainstream provider treats case as
    significant, and treating it so would let look-alike accounts coexist. Anything that is
    not an address comes back only trimmed and lower-cased (a search prefix, a typo), so it
    matches nothing and :func:`is_valid_email` refuses it.
    """
    lowered = unicodedata.normalize("NFKC", raw).strip().lower()
    try:
        return parse_address(lowered).normalized
    except AddressError:
        return lowered


def is_valid_email(normalised: str) -> bool:
    """A strict addr-spec of at most 254 characters (see :mod:`hub.kernel.addresses`)."""
    return is_addr_spec(normalised)


def mailbox_key(normalised: str) -> str:
    """The mailbox an address delivers to, for limits on mail: ``alice+x@example.com`` and
    ``alice@example.com`` reach the same inbox at most providers, so they share a budget
    (otherwise ``+1``, ``+2``... would each get a fresh one)."""
    local, at, domain = normalised.rpartition("@")
    if not at:
        return normalised
    return f"{local.split('+', 1)[0] or local}@{domain}"
