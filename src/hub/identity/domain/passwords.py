"""The password policy (NIST SP 800-63B): length and a blocklist, no composition rules."""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib import resources

MIN_LENGTH = 8
#: Long passphrases are welcome; the cap only bounds the work one request can cause.
MAX_LENGTH = 1024
#: Marks a stored hash no password can match (argon2 encodings start with ``$``).
UNUSABLE_PREFIX = "!"


def unusable(password_hash: str) -> str:
    """A stored value no password matches, built from a real hash so it looks like one
    and costs nothing extra to make (registration hashes anyway)."""
    return UNUSABLE_PREFIX + password_hash


def is_unusable(password_hash: str) -> bool:
    return password_hash.startswith(UNUSABLE_PREFIX)


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
