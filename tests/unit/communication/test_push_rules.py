"""Web Push rules without I/O: what a browser's keys must be, which endpoints are
accepted, how a long notification is cut to fit one push message, what a push service's
answer means, and whom the VAPID token names."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hub.communication.domain.push import (
    DOWN,
    GONE,
    MAX_PLAINTEXT,
    REJECTED,
    SENT,
    Subscription,
    b64url,
    b64url_decode,
    check_endpoint_scheme,
    contact,
    message,
    outcome,
    parse_keys,
    vapid_claims,
)
from hub.kernel.errors import Invalid


def _point() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def _field(exc: pytest.ExceptionInfo[Invalid]) -> str:
    return exc.value.errors[0].field


def test_a_browsers_keys_must_be_a_curve_point_and_a_sixteen_byte_secret() -> None:
    point, secret = _point(), os.urandom(16)
    assert parse_keys(b64url(point), b64url(secret)) == (point, secret)
    # with the padding some libraries add
    padded = b64url(secret) + "=="
    assert parse_keys(b64url(point), padded)[1] == secret
    for p256dh in (
        b64url(b"\x04" + bytes(64)),  # not on the curve
        b64url(point[:33]),  # truncated
        b64url(bytes([0x02]) + point[1:33]),  # compressed: browsers never send it
        "a+b/c",  # base64, not base64url
        "",
        "é",
    ):
        with pytest.raises(Invalid) as exc:
            parse_keys(p256dh, b64url(secret))
        assert _field(exc) == "keys.p256dh", p256dh
    for auth in (b64url(os.urandom(15)), b64url(os.urandom(17)), "!!", "a b"):
        with pytest.raises(Invalid) as exc:
            parse_keys(b64url(point), auth)
        assert _field(exc) == "keys.auth", auth


def test_endpoints_are_https_and_plain_http_only_to_an_allowed_address() -> None:
    check_endpoint_scheme("https://fcm.googleapis.com/fcm/send/x", allowed_address=False)
    check_endpoint_scheme("http://127.0.0.1:9000/x", allowed_address=True)
    for url, allowed in (("http://push.example.com/x", False), ("ftp://127.0.0.1/x", True)):
        with pytest.raises(Invalid) as exc:
            check_endpoint_scheme(url, allowed_address=allowed)
        assert (exc.value.code, _field(exc)) == ("endpoint_not_allowed", "endpoint")


def _message(**parts: str) -> bytes:
    return message(
        notification_id="n",
        inbox_item_id=None,
        organisation_id="o",
        category="general",
        priority="normal",
        parts=parts,
    )


def test_a_long_notification_is_cut_to_fit_one_push_message_never_its_link() -> None:
    short = json.loads(_message(title="Hi", body="there", actionUrl="https://hub.example/x"))
    assert (short["title"], short["body"], short["actionUrl"]) == (
        "Hi",
        "there",
        "https://hub.example/x",
    )
    # The body goes first, character by character (never half of a multi-byte one).
    long = _message(title="Report", body="é" * 5000, actionUrl="https://hub.example/r")
    data = json.loads(long)
    assert len(long) <= MAX_PLAINTEXT
    assert MAX_PLAINTEXT - len(long) <= 2  # as much as fits
    assert data["body"].endswith("…")
    assert set(data["body"][:-1]) == {"é"}
    assert (data["title"], data["actionUrl"]) == ("Report", "https://hub.example/r")
    # Then the title; a link too long to fit is left out, not cut.
    both = json.loads(
        _message(title="t" * 5000, body="b" * 5000, actionUrl="https://x/" + "u" * 10)
    )
    assert both["body"] == ""
    assert both["title"].endswith("…")
    no_link = _message(title="T", body="B", actionUrl="https://x/" + "u" * 5000)
    assert len(no_link) <= MAX_PLAINTEXT
    assert json.loads(no_link)["actionUrl"] is None
    # JSON escapes count too: quotes and controls grow when encoded.
    quoted = _message(title="T", body='"\n' * 3000)
    assert len(quoted) <= MAX_PLAINTEXT


def test_what_a_push_service_answer_means() -> None:
    assert [outcome(s) for s in (200, 201, 202)] == [SENT] * 3
    assert [outcome(s) for s in (404, 410)] == [GONE] * 2
    assert [outcome(s) for s in (400, 401, 403, 413)] == [REJECTED] * 4
    assert [outcome(s) for s in (301, 429, 500, 502, 503)] == [DOWN] * 5


def test_the_token_names_the_push_service_and_a_contact() -> None:
    subscription = Subscription("https://push.example.com:8443/s/abc?x=1", _point(), b"0" * 16)
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    claims = vapid_claims(subscription, "mailto:ops@hub.example", now)
    assert claims == {
        "aud": "https://push.example.com:8443",
        "exp": int(now.timestamp()) + 12 * 3600,
        "sub": "mailto:ops@hub.example",
    }
    assert Subscription.from_json(subscription.to_json()) == subscription
    assert contact("mailto:a@b.example", "https://hub.example", "Hub <h@x>") == "mailto:a@b.example"
    assert contact("", "https://hub.example", "Hub <h@x.example>") == "https://hub.example"
    assert contact("", "http://127.0.0.1:8000", "Hub <h@x.example>") == "mailto:h@x.example"
    assert b64url_decode(b64url(b"\x00\xff")) == b"\x00\xff"
