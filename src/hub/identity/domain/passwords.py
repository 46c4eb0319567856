"""The password policy (NIST SP 800-63B): length and a blocklist, no composition rules."""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib import resources

MIN_LENGTH = 8
#: Long passphrases are welcome; the cap only bounds the work one request can cause.
MAX_LENGTH = 1024


def normalise_password(password: str) -> str:
    """NFKC, so the same passphrase typed on two keyboards hashes the same."""
    return unicodedata.normalize("NFKC", password)


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list (see the header of ``data/common-passwords.txt`` for its origin)."""
    text = (
        resources.files("hub.identity")
        .joinpath("data", "common-passwords.txt")
        .read_text(encoding="utf-8")
    )
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def password_problems(password: str, *, email: str = "", display_name: str = "") -> list[str]:
    """Why ``password`` is refused, as messages for the user; empty when acceptable."""
    normalised = normalise_password(password)
    length = len(normalised)
    if length < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters."]
    if length > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    folded = normalised.casefold()
    if folded in common_passwords():
        return ["This password is among the most commonly used ones; choose another."]
    personal = {email.casefold(), email.split("@", 1)[0].casefold(), display_name.casefold()}
    if folded in {p for p in personal if p}:
        return ["Do not use your e-mail address or name as the password."]
    return []
