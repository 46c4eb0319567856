"""Mail at rest and on the wire: queued sealed under HUB_SECRET_KEY (previous keys still
open it), recipients strict addr-specs, the SMTP envelope made from them alone."""

from __future__ import annotations

import base64
from email.message import EmailMessage
from typing import Any

import msgspec
import pytest

from hub.kernel import mail as kernel_mail
from hub.kernel.addresses import AddressError, is_addr_spec, parse_address
from hub.kernel.jobs import JobRequested
from hub.kernel.mail import (
    SEND_MAIL,
    MailMessage,
    PermanentMailError,
    SmtpTransport,
    UnreadableMailError,
    build_email,
    open_mail,
    queue_mail,
    seal_mail,
)
from hub.kernel.sealing import Sealer, UnsealableError
from hub.kernel.settings import Settings, parse_smtp_url

A, B, C = "a" * 40, "b" * 40, "c" * 40
TOKEN = "hub_et_live-token-0123456789"


def _keys(current: str, *previous: str) -> Settings:
    return msgspec.structs.replace(Settings(), secret_key=current, secret_key_previous=previous)


def _message(to: str = "ada@example.com") -> MailMessage:
    return MailMessage(
        to=[to],
        subject="Reset your password",
        text=f"Hello Ada,\nhttps://hub.example/reset-password?token={TOKEN}\n",
        html=f'<a href="https://hub.example/reset-password?token={TOKEN}">reset</a>',
        tags=["password_reset"],
    )


class _Uow:
    def __init__(self) -> None:
        self.published: list[Any] = []

    def publish(self, event: Any) -> None:
        self.published.append(event)


# ----------------------------------------------------------------------------- sealing


def test_the_kernel_sealer_opens_with_any_configured_key_and_nothing_else() -> None:
    old = Sealer([A], "mail-outbox").seal(b"secret", context=b"ctx")
    rotated = Sealer([B, C, A], "mail-outbox")
    assert rotated.open(old, context=b"ctx") == b"secret"
    assert rotated.open(rotated.seal(b"secret", context=b"ctx"), context=b"ctx") == b"secret"
    with pytest.raises(UnsealableError):
        Sealer([B], "mail-outbox").open(old, context=b"ctx")
    with pytest.raises(UnsealableError):  # another purpose, another key
        Sealer([A], "other-purpose").open(old, context=b"ctx")
    with pytest.raises(UnsealableError):  # bound to its context
        rotated.open(old, context=b"other")
    with pytest.raises(UnsealableError):  # tampered
        rotated.open(old[:-1] + bytes([old[-1] ^ 1]), context=b"ctx")
    with pytest.raises(UnsealableError):
        rotated.open(b"\x02" + old[1:], context=b"ctx")


def test_queued_mail_is_sealed_and_only_the_key_opens_it() -> None:
    uow = _Uow()
    message = _message()
    mail_id = queue_mail(uow, message, settings=_keys(A))  # type: ignore[arg-type]
    (request,) = uow.published
    assert isinstance(request, JobRequested)
    assert request.event_id == mail_id
    assert request.job == SEND_MAIL.name
    (sealed,) = request.args
    assert isinstance(sealed, str)
    # Nothing of the message is readable in what is stored: not the link, not the address.
    wire = msgspec.json.encode(request) + base64.urlsafe_b64decode(sealed)
    for clear in (TOKEN, "ada@example.com", "Reset your password", "Hello Ada"):
        assert clear.encode() not in wire
    assert open_mail(sealed, _keys(A)) == message
    # Rotated: the new key seals, the previous one still opens what was queued before.
    assert open_mail(sealed, _keys(B, A)) == message
    assert open_mail(seal_mail(message, _keys(B, A)), _keys(B)) == message
    with pytest.raises(UnreadableMailError, match="HUB_SECRET_KEY_PREVIOUS"):
        open_mail(sealed, _keys(B))


def test_an_unreadable_mail_is_dead_lettered_at_once_and_names_no_content() -> None:
    assert UnreadableMailError in SEND_MAIL.throws
    assert PermanentMailError in SEND_MAIL.throws
    for junk in ("not base64 !", base64.urlsafe_b64encode(b"\x01" + b"x" * 40).decode(), 42):
        with pytest.raises(UnreadableMailError) as caught:
            open_mail(junk, _keys(A))
        assert "x" * 10 not in str(caught.value)
    # Sealed text that opens but is no mail: the error names the kind, not the content.
    sealer = kernel_mail.mail_sealer(_keys(A))
    other = sealer.seal(b'{"to": ["x<evil@x.com>"], "subject": "s", "text": "secret"}')
    with pytest.raises(UnreadableMailError) as caught:
        open_mail(base64.urlsafe_b64encode(other).decode(), _keys(A))
    assert "secret" not in str(caught.value)


def test_mail_queued_in_clear_by_an_older_release_is_still_sent() -> None:
    message = _message()
    assert open_mail(msgspec.to_builtins(message), _keys(A)) == message


# ----------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    "address",
    [
        "x<attacker@evil.com>",
        "Bob <bob@example.com>",
        "a,b@x.com",
        "a;b@x.com",
        "a:b@x.com",
        "a@x.com, b@y.com",
        '"a"@x.com',
        '"a b"@x.com',
        "a(comment)@x.com",
        "a\x00b@x.com",
        "a\x7fb@x.com",
        "a\nb@x.com",
        "a@x.com\n",
        " a@x.com",
        "a b@x.com",
        "a@x",
        "a@localhost",
        "a@x.local",
        "a@[127.0.0.1]",
        "a..b@x.com",
        ".a@x.com",
        "a.@x.com",
        "a@-x.com",
        "a@x_y.com",
        "ü@x.com",
        "@x.com",
        "a@",
        "a@b@x.com",
        "a@" + "b" * 250 + ".com",
    ],
)
def test_only_a_strict_addr_spec_is_an_address(address: str) -> None:
    assert not is_addr_spec(address)
    with pytest.raises(AddressError):
        parse_address(address)
    with pytest.raises(ValueError, match="recipient"):
        MailMessage(to=[address], subject="s", text="t")


@pytest.mark.parametrize(
    ("address", "ascii"),
    [
        ("ada@example.com", "ada@example.com"),
        ("a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk"),
        ("a!#$%&'*+/=?^_`{|}~-@x.com", "a!#$%&'*+/=?^_`{|}~-@x.com"),
        ("ada@münchen.de", "ada@xn--mnchen-3ya.de"),
        ("ada@xn--mnchen-3ya.de", "ada@xn--mnchen-3ya.de"),
    ],
)
def test_valid_addresses_and_their_wire_form(address: str, ascii: str) -> None:
    assert is_addr_spec(address)
    assert parse_address(address).ascii == ascii


# ----------------------------------------------------------------------------- SMTP envelope


async def _envelope(monkeypatch: pytest.MonkeyPatch, message: MailMessage, **tamper: str) -> Any:
    sent: list[tuple[EmailMessage, dict[str, Any]]] = []

    async def fake_send(email: EmailMessage, **kwargs: Any) -> Any:
        sent.append((email, kwargs))
        return ({}, "OK")

    monkeypatch.setattr(kernel_mail.aiosmtplib, "send", fake_send)
    email, stored = build_email(message, mail_id="0" * 32, sender="Hub <hub@hub.example>")
    for header, value in tamper.items():
        email.replace_header(header, value)
    await SmtpTransport(parse_smtp_url("smtp://127.0.0.1:2525?starttls=0")).send(email, stored)
    ((delivered, kwargs),) = sent
    return delivered, kwargs


async def test_the_smtp_envelope_is_the_message_recipient(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    delivered, kwargs = await _envelope(monkeypatch, _message("ada@example.com"))
    assert kwargs["recipients"] == ["ada@example.com"]
    assert delivered["To"] == "ada@example.com"
    # Whatever the To header says (a parser would read two addresses here), the envelope is
    # the one recipient the message was made for.
    _, kwargs = await _envelope(monkeypatch, _message(), To="x <attacker@evil.com>, other@evil.com")
    assert kwargs["recipients"] == ["ada@example.com"]


async def test_an_internationalised_domain_goes_on_the_wire_idna_encoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    delivered, kwargs = await _envelope(monkeypatch, _message("ada@münchen.de"))
    assert kwargs["recipients"] == ["ada@xn--mnchen-3ya.de"]
    assert delivered["To"] == "ada@xn--mnchen-3ya.de"
