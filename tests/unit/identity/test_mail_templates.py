"""Identity's security mails render in every variant (StrictUndefined: a missing value is
an error, so each branch is rendered here once)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from structlog.testing import capture_logs

from hub.identity.domain.settings import IdentitySettings
from hub.identity.services.mail import IdentityMail
from hub.kernel.mail import MailMessage, open_mail
from hub.kernel.settings import Settings


class _Uow:
    """Just enough of a unit of work for ``queue_mail``: collects what it is given."""

    def __init__(self) -> None:
        self.published: list[Any] = []

    def publish(self, event: Any) -> None:
        self.published.append(event)


def _mail(undo_seconds: int) -> tuple[IdentityMail, _Uow]:
    config = IdentitySettings(email_change_undo_ttl_seconds=undo_seconds)
    return IdentityMail(Settings(), config), _Uow()


def _sent(uow: _Uow) -> MailMessage:
    (request,) = uow.published
    return open_mail(request.args[0], Settings())  # queued sealed, opened as the job does


WHEN = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


@pytest.mark.parametrize("kind", ["email_change_requested", "email_changed"])
def test_the_old_address_gets_an_undo_link_unless_they_are_off(kind: str) -> None:
    mail, uow = _mail(7 * 86400)
    mail.notice(
        uow, kind, to="a@x.com", display_name="A", new_email="b@x.com", undo_token="tok", when=WHEN
    )
    text = _sent(uow).text
    assert "b@x.com" in text
    assert "/undo-email-change?token=tok" in text
    assert "for 7 days" in text

    mail, uow = _mail(0)
    mail.notice(
        uow, kind, to="a@x.com", display_name="A", new_email="b@x.com", undo_token=None, when=WHEN
    )
    text = _sent(uow).text
    assert "http" not in text
    assert "administrator" in text


def test_reset_and_undo_mails_count_the_revoked_keys() -> None:
    mail, uow = _mail(3600)
    mail.notice(
        uow,
        "password_changed",
        to="a@x.com",
        display_name="A",
        how="reset",
        when=WHEN,
        api_keys_revoked=0,
    )
    text = " ".join(_sent(uow).text.split())
    assert "Every device was signed out." in text
    assert "API" not in text
    mail, uow = _mail(3600)
    mail.notice(
        uow,
        "email_change_reverted",
        to="a@x.com",
        display_name="A",
        api_keys_revoked=3,
        when=WHEN,
    )
    message = _sent(uow)
    assert message.subject == "Your Hub account is back on a@x.com"
    assert "3 API key(s) were revoked" in " ".join(message.text.split())
    mail, uow = _mail(3600)
    mail.notice(uow, "mfa_reset", to="a@x.com", display_name="A", when=WHEN)
    assert "recovery codes no longer work" in _sent(uow).text


def test_an_address_stored_before_the_strict_check_gets_no_mail() -> None:
    """``x<attacker@evil.com>`` was accepted once and would reach the attacker: its mail is
    skipped (and logged) rather than failing the change it announces."""
    mail, uow = _mail(3600)
    with capture_logs() as logs:
        mail.with_link(
            uow, "password_reset", to="x<attacker@evil.com>", display_name="A", token="tok"
        )
        mail.notice(uow, "mfa_reset", to="a,b@x.com", display_name="A", when=WHEN)
    assert uow.published == []
    assert [(e["event"], e["template"]) for e in logs] == [
        ("mail_skipped_invalid_address", "password_reset"),
        ("mail_skipped_invalid_address", "mfa_reset"),
    ]
    assert "tok" not in repr(logs)
    mail.notice(uow, "mfa_reset", to="a@x.com", display_name="A", when=WHEN)
    assert _sent(uow).to == ["a@x.com"]
