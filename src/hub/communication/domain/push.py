"""Web Push (RFC 8030 delivery, RFC 8291 message encryption, RFC 8292 VAPID): the rules,
without I/O.

A browser's ``PushManager.subscribe({applicationServerKey})`` gives the frontend a
subscription, ``{endpoint, keys: {p256dh, auth}}``, which it registers with the hub. The
endpoint is a capability URL at the browser vendor's push service; ``p256dh`` (the
browser's P-256 public key) and ``auth`` (a 16-byte secret) let the hub encrypt what only
that browser can read, and the hub's VAPID key pair proves to the push service that the
sender is the one the browser subscribed to.

Everything the frontend sends is parsed here once, strictly: the keys must decode to a
point on the curve and a secret of the right size, the endpoint must be an ``https`` URL
(``http`` only to an address the operator allowed, a test's or an intranet's relay).
What a push service answers is classified here too, so the delivery decides from one
value: ``sent``, ``gone`` (the subscription expired: forget it), ``rejected`` (this
subscription refuses this message: no retry) or ``down`` (try again later).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from hub.kernel.problems import field_invalid

#: Subscriptions one person keeps; registering one more forgets the least recently used.
MAX_SUBSCRIPTIONS = 20
MAX_ENDPOINT = 2048
MAX_LABEL = 100
#: What the push services carry at most (RFC 8291 §4: 4096 bytes of record, minus the
#: header of 86 bytes, the padding delimiter and the 16-byte tag).
MAX_PLAINTEXT = 3993
#: A VAPID token's lifetime (RFC 8292 §2: at most 24 hours).
TOKEN_LIFETIME = timedelta(hours=12)

Outcome = Literal["sent", "gone", "rejected", "down"]
SENT: Final = "sent"
GONE: Final = "gone"
REJECTED: Final = "rejected"
DOWN: Final = "down"


def b64url_decode(value: str) -> bytes:
    """Base64url with or without padding (browsers give it without)."""
    if any(c not in _B64URL for c in value):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


@dataclass(frozen=True)
class Subscription:
    """A browser's subscription as the hub keeps it (sealed at rest)."""

    endpoint: str
    #: The browser's P-256 public key, uncompressed (65 bytes).
    p256dh: bytes
    #: The browser's authentication secret (16 bytes).
    auth: bytes

    def to_json(self) -> bytes:
        return json.dumps(
            {"endpoint": self.endpoint, "p256dh": b64url(self.p256dh), "auth": b64url(self.auth)}
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Subscription:
        raw = json.loads(data)
        return cls(raw["endpoint"], b64url_decode(raw["p256dh"]), b64url_decode(raw["auth"]))

    @property
    def host(self) -> str:
        return urlsplit(self.endpoint).hostname or ""

    @property
    def origin(self) -> str:
        """The push service's origin: the VAPID token's audience (RFC 8292 §2)."""
        parts = urlsplit(self.endpoint)
        return f"{parts.scheme}://{parts.netloc}"


def parse_keys(p256dh: str, auth: str) -> tuple[bytes, bytes]:
    """The browser's key and secret, or a 422 naming ``keys.p256dh`` / ``keys.auth``."""
    try:
        point = b64url_decode(p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, binascii.Error):
        raise field_invalid(
            "keys.p256dh", "not a P-256 public key (base64url of the 65-byte uncompressed point)"
        ) from None
    if len(point) != 65:
        raise field_invalid("keys.p256dh", "an uncompressed P-256 point has 65 bytes")
    try:
        secret = b64url_decode(auth)
    except (ValueError, binascii.Error):
        raise field_invalid("keys.auth", "not base64url") from None
    if len(secret) != 16:
        raise field_invalid("keys.auth", "the authentication secret has 16 bytes")
    return point, secret


def check_endpoint_scheme(endpoint: str, *, allowed_address: bool) -> None:
    """Push services are reached over TLS; plain ``http`` only to an allowed address."""
    scheme = urlsplit(endpoint).scheme
    if scheme == "https" or (scheme == "http" and allowed_address):
        return
    raise field_invalid("endpoint", "a push service URL is https://", code="endpoint_not_allowed")


def message(
    *,
    notification_id: str,
    inbox_item_id: str | None,
    organisation_id: str,
    category: str,
    priority: str,
    parts: Mapping[str, str],
) -> bytes:
    """The JSON a service worker receives in its ``push`` event: what the in-app inbox
    shows, cut to fit one push message (the body first, then the title)."""
    data: dict[str, Any] = {
        "notificationId": notification_id,
        "inboxItemId": inbox_item_id,
        "organisationId": organisation_id,
        "category": category,
        "priority": priority,
        "title": parts.get("title", ""),
        "body": parts.get("body", ""),
        "actionUrl": parts.get("actionUrl") or None,
    }
    for key in ("body", "title"):
        if len(_dump(data)) <= MAX_PLAINTEXT:
            break
        data[key] = _shortened(data, key)
    if len(_dump(data)) > MAX_PLAINTEXT:
        data["actionUrl"] = None  # a URL is never cut: a broken link is worse than none
    return _dump(data)


def test_message() -> bytes:
    """What ``POST …/push-subscriptions/{id}/test`` sends: a message of the usual shape
    (no notification behind it, category ``test``), so the service worker shows it as it
    would show any other."""
    return _dump(
        {
            "notificationId": None,
            "inboxItemId": None,
            "organisationId": None,
            "category": "test",
            "priority": "normal",
            "title": "Hub",
            "body": "Notifications reach this device.",
            "actionUrl": None,
        }
    )


def _dump(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _shortened(data: dict[str, Any], key: str) -> str:
    """The longest start of ``data[key]`` (with an ellipsis) that lets the message fit,
    by bisection on characters, so a multi-byte character is never split."""
    text: str = data[key]
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if len(_dump({**data, key: text[:middle] + "…"})) <= MAX_PLAINTEXT:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "…" if low else ""


def contact(configured: str, public_url: str, mail_from: str) -> str:
    """The VAPID ``sub``: the configured contact, else the hub's https address, else its
    sender's mail address (push services may write there about a misbehaving sender)."""
    if configured:
        return configured
    if public_url.startswith("https://"):
        return public_url
    return f"mailto:{parseaddr(mail_from)[1]}"


def vapid_claims(subscription: Subscription, subject: str, now: datetime) -> dict[str, Any]:
    """The VAPID token's claims: the push service's origin, an expiry, a contact."""
    return {
        "aud": subscription.origin,
        "exp": int((now + TOKEN_LIFETIME).timestamp()),
        "sub": subject,
    }


def outcome(status: int) -> Outcome:
    """What a push service's answer means for one subscription (RFC 8030 §5, and what
    FCM, Mozilla autopush, Apple and WNS answer): 2xx taken; 404/410 the subscription is
    gone; 400, 401, 403 and 413 this message or this sender is refused (retrying cannot
    help); 429, 5xx and anything else later."""
    if 200 <= status < 300:
        return SENT
    if status in (404, 410):
        return GONE
    if status in (400, 401, 403, 413):
        return REJECTED
    return DOWN
