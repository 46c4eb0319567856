"""TOTP (RFC 6238): 6 digits, 30-second steps, one step of clock drift either way."""

from __future__ import annotations

import hmac
import time

import pyotp

DIGITS = 6
INTERVAL = 30
DRIFT_STEPS = 1
#: What an authenticator app may show between the digits ("123 456"), ignored when typed.
SEPARATORS = frozenset(" -")
ASCII_DIGITS = frozenset("0123456789")


def clean_code(code: str) -> str | None:
    """The six ASCII digits of a typed code, or None for anything else.

    ``str.isdigit`` also accepts Arabic-Indic or full-width digits, which no authenticator
    produces and which ``hmac.compare_digest`` refuses to compare (a TypeError, so a 500):
    only ``0`` to ``9`` count, and any other character makes the code wrong."""
    digits = "".join(ch for ch in code if ch not in SEPARATORS)
    if len(digits) != DIGITS or not set(digits) <= ASCII_DIGITS:
        return None
    return digits


def new_secret() -> str:
    return str(pyotp.random_base32(length=32))


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    return str(
        pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
            name=account, issuer_name=issuer
        )
    )


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // INTERVAL)


def code_at(secret: str, step: int) -> str:
    return str(pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).generate_otp(step))


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step ``code`` belongs to within the drift window, else None.

    Every candidate is compared (constant time each) so the answer's timing does not tell
    which step matched.
    """
    cleaned = clean_code(code)
    if cleaned is None:
        return None
    step = current_step(now)
    found: int | None = None
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at(secret, candidate), cleaned):
            found = candidate
    return found
