"""E-mail addresses the hub accepts: a strict RFC 5322 addr-spec, checked by email-validator.

A lax check ("something, an @, something") let ``x<attacker@evil.com>`` through: stored as
an account's address, it reached the attacker once a mail library parsed it as a display
name and an address. So an address is exactly ``local@domain`` and nothing else:

* the local part is dot-atoms of the RFC 5322 ``atext`` set (ASCII letters, digits and
  ``!#$%&'*+-/=?^_`{|}~``; no quoted strings, comments, whitespace, control characters or
  ``,<>:;``); no internationalised local part, since that needs SMTPUTF8 on every hop;
* the domain is LDH labels or a name IDNA can encode (``münchen.de`` goes on the wire as
  ``xn--mnchen-3ya.de``), with a dot; no address literals, and none of the special-use
  names that cannot receive mail from the Internet (``localhost``, ``.local``, ``.test``,
  ``.invalid``, ``.onion``, ``.arpa``).

``email-validator`` does the parsing (its syntax checks only: ``check_deliverability``
is off, so no DNS lookup ever happens on a request).
"""

from __future__ import annotations

from typing import NamedTuple

from email_validator import EmailNotValidError, validate_email

#: RFC 5321's limit on a path (what fits in ``RCPT TO:<…>``).
MAX_LENGTH = 254
#: Separators, quotes, brackets, whitespace: never in a plain address (and what display
#: names, lists and comments are made of).
_NEVER = frozenset(' ,<>:;"()[]\\\r\n\t')


class AddressError(ValueError):
    """Not a strict addr-spec; the message says why (safe to show to whoever typed it)."""


class Address(NamedTuple):
    #: ``local@domain`` with the domain in its Unicode form (as people read it).
    normalized: str
    #: ``local@domain`` with the domain IDNA-encoded: what SMTP sends.
    ascii: str
    local: str
    domain: str


def parse_address(address: str) -> Address:
    """The address checked and split, or :class:`AddressError`."""
    if len(address) > MAX_LENGTH:
        raise AddressError(f"An e-mail address has at most {MAX_LENGTH} characters.")
    try:
        valid = validate_email(
            address,
            allow_smtputf8=False,
            allow_empty_local=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
            check_deliverability=False,
            test_environment=False,
            globally_deliverable=True,
        )
    except EmailNotValidError as exc:
        raise AddressError(str(exc)) from exc
    ascii_form = valid.ascii_email
    # The options above already refuse all of this; a guard against a library change,
    # since an envelope address like these is what this module exists to prevent.
    if ascii_form is None or ascii_form.count("@") != 1 or any(ch in _NEVER for ch in ascii_form):
        raise AddressError("The e-mail address contains characters that are not allowed.")
    return Address(
        normalized=valid.normalized,
        ascii=ascii_form,
        local=valid.local_part,
        domain=valid.domain,
    )


def is_addr_spec(address: str) -> bool:
    """Whether ``address`` is exactly one strict addr-spec (see the module docstring)."""
    try:
        parse_address(address)
    except AddressError:
        return False
    return True
