"""TOTP (RFC 6238): 6 digits, 30-second steps, one step of clock drift either way."""

from __future__ import annotations

import hmac
import time

import pyotp

DIGITS = 6
INTERVAL = 30
DRIFT_STEPS = 1


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
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != DIGITS:
        return None
    step = current_step(now)
    found: int | None = None
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at(secret, candidate), code):
            found = candidate
    return found
