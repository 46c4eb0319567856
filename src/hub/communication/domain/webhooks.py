"""Outbound webhooks, the pure rules: event-type patterns, secrets and signatures in the
Standard Webhooks format, the retry schedule, and when an endpoint is given up on.

* A pattern is dotted segments (``content.document.uploaded``); ``*`` stands for exactly
  one segment, except as the last segment, where it stands for one or more
  (``content.document.*``, ``content.*``); ``*`` alone matches every event.
* A secret is ``whsec_`` + base64 of 32 random bytes (what the ``standardwebhooks`` and
  Svix libraries accept); a signature is ``v1,`` + base64 HMAC-SHA256 of
  ``"{webhook-id}.{webhook-timestamp}.{body}"`` (stdlib ``hmac``), one per valid secret,
  space-separated while a rotated-out secret is still honoured.
* Attempts follow the specification's schedule: at once, then 5 s, 5 min, 30 min, 2 h,
  5 h, 10 h and 10 h after each failure, each delay stretched by up to 10 % of jitter
  (never shortened), so 8 attempts in about 28 hours.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
SECRET_BYTES = 32
#: Delays before each attempt; the first is "immediately".
SCHEDULE: tuple[timedelta, ...] = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(SCHEDULE)
#: The largest share of a delay added at random (spreads retries of a burst out).
JITTER = 0.1
#: An endpoint whose deliveries have failed without a success for this long is disabled.
FAILING_LIMIT = timedelta(days=5)
#: What of a response body is kept in the delivery log (and read at most).
RESPONSE_BODY_LIMIT = 2048
MAX_PATTERNS = 50
MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 500
#: The event type of ``POST /webhooks/{id}/test``: sent whatever the endpoint's patterns.
PING = "webhook.ping"

#: Custom headers an endpoint may add to every delivery (a receiver behind a gateway that
#: wants its own ``Authorization`` or ``X-Api-Key``).
MAX_HEADERS = 10
MAX_HEADER_VALUE = 1000
#: RFC 9110 ``token``: what a field name may be.
HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
#: Visible ASCII and spaces inside, nothing else: no CR, LF or NUL (no header injection),
#: no bytes a receiver could read two ways.
HEADER_VALUE_RE = re.compile(r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$")
#: Headers the hub sets itself, or that belong to the connection: never a custom one.
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "host",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "proxy-authorization",
        "proxy-connection",
        "user-agent",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)


def header_problems(headers: dict[str, str]) -> list[tuple[str, str]]:
    """What is wrong with an endpoint's custom headers, as (field, message) pairs: the
    field is ``headers.<name>`` (or ``headers``)."""
    if len(headers) > MAX_HEADERS:
        return [("headers", f"at most {MAX_HEADERS} headers")]
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, value in headers.items():
        field = f"headers.{name}"
        lower = name.lower()
        if not HEADER_NAME_RE.match(name):
            out.append(
                (field, "a header name is 1 to 64 of A-Z a-z 0-9 ! # $ % & ' * + - . ^ _ ` | ~")
            )
        elif lower in RESERVED_HEADERS:
            out.append((field, "the hub sets this header itself"))
        elif lower in seen:
            out.append((field, "given twice (header names ignore case)"))
        seen.add(lower)
        if len(value) > MAX_HEADER_VALUE:
            out.append((field, f"at most {MAX_HEADER_VALUE} characters"))
        elif not HEADER_VALUE_RE.match(value):
            out.append(
                (field, "visible ASCII, spaces only inside: no line breaks, NUL or other bytes")
            )
    return out


PATTERN_RE = re.compile(r"^(\*|[a-z][a-z0-9_]*)(\.(\*|[a-z][a-z0-9_]*))*$")
PATTERN_DESCRIPTION = (
    "dotted lower-case segments; '*' is one segment, or the rest as the last segment "
    "(content.document.*), or everything alone"
)


def check_pattern(pattern: str) -> str | None:
    """Why a pattern is malformed, or None."""
    if len(pattern) > 200 or not PATTERN_RE.match(pattern):
        return PATTERN_DESCRIPTION
    return None


def matches(pattern: str, event_type: str) -> bool:
    want = pattern.split(".")
    have = event_type.split(".")
    for i, part in enumerate(want):
        last = i == len(want) - 1
        if part == "*" and last:
            return len(have) > i
        if i >= len(have) or (part != "*" and part != have[i]):
            return False
    return len(have) == len(want)


def matches_any(patterns: Sequence[str], event_type: str) -> bool:
    return any(matches(p, event_type) for p in patterns)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secrets_: Sequence[str], webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: one ``v1,<base64>`` per secret, space-separated."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(secret_key(s), signed, hashlib.sha256).digest()).decode()
        for s in secrets_
    )


def webhook_id(delivery_id: object) -> str:
    """The ``webhook-id`` of a delivery: the same on every attempt and manual retry."""
    return f"msg_{getattr(delivery_id, 'hex', delivery_id)}"


def next_attempt(now: datetime, attempts: int, rng: random.Random | None = None) -> datetime | None:
    """When attempt ``attempts + 1`` is due after ``attempts`` failed ones; None when the
    schedule is exhausted."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = SCHEDULE[attempts]
    jitter = (rng or random).uniform(0, JITTER) * delay.total_seconds()
    return now + delay + timedelta(seconds=jitter)


def given_up(failing_since: datetime | None, now: datetime) -> bool:
    """Whether an endpoint failing since ``failing_since`` (no success in between) has
    failed for long enough to be disabled."""
    return failing_since is not None and now - failing_since >= FAILING_LIMIT


def truncate(body: bytes, limit: int = RESPONSE_BODY_LIMIT) -> str:
    """A response body as the log keeps it: at most ``limit`` bytes, as text."""
    return body[:limit].decode("utf-8", errors="replace")
