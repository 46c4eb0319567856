"""Mail rules without a server: a mail parsed once (encoded subjects and file names
decoded, parts without a name left out), which mails and attachments a rule takes, the
title, and errors stripped of secrets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from hub.content.domain.mail import (
    MAX_ERROR,
    Attachment,
    Filters,
    Mail,
    eml_name,
    matches,
    parse_mail,
    reconsiders,
    scrubbed,
    since,
    title_of,
    wanted,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _raw(**headers: str) -> bytes:
    message = EmailMessage()
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Bonjour, voir la pièce jointe.")
    message.add_attachment(
        b"%PDF-1.4", maintype="application", subtype="pdf", filename="facture été.pdf"
    )
    message.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename="logo.png")
    return message.as_bytes()


def test_a_mail_is_parsed_with_its_headers_decoded_and_its_named_parts() -> None:
    raw = _raw(
        From="Comptabilité <compta@fournisseur.example>",
        To="Réception <docs@clinic.example>",
        Cc="archive@clinic.example",
        Subject="Facture n° 42 : décembre",
        Date=format_datetime(NOW),
        Message_ID="<42@fournisseur.example>",
    )
    mail = parse_mail(raw)
    assert mail.subject == "Facture n° 42 : décembre"
    assert mail.sender == "Comptabilité <compta@fournisseur.example>"
    assert mail.recipients == "Réception <docs@clinic.example> archive@clinic.example"
    assert mail.body == "Bonjour, voir la pièce jointe.\n"
    assert (mail.message_id, mail.date) == ("<42@fournisseur.example>", NOW)
    assert [(a.file_name, a.data) for a in mail.attachments] == [
        ("facture été.pdf", b"%PDF-1.4"),
        ("logo.png", b"\x89PNG"),
    ]
    # Odd bytes do not stop it: no date, controls gone, a subject folded to one line.
    odd = parse_mail(b"Subject: a\x01b\r\n  c\r\nDate: yesterday\r\n\r\nbody")
    assert (odd.subject, odd.date, odd.attachments, odd.sender) == ("ab c", None, (), "")
    assert (odd.body, odd.recipients) == ("body", "")


def test_the_body_of_an_html_mail_is_its_text_and_an_unknown_charset_is_read_anyway() -> None:
    message = EmailMessage()
    message["From"] = "a@b.example"
    message.set_content("<p>Amount <b>due</b></p><script>steal()</script>", subtype="html")
    assert parse_mail(message.as_bytes()).body.split() == ["Amount", "due"]
    raw = b"From: a@b.example\nContent-Type: text/plain; charset=x-unknown\n\nr\xc3\xa9sum\xc3\xa9"
    assert parse_mail(raw).body == "r\u00e9sum\u00e9"


def _mail(sender: str = "Billing <billing@supplier.example>", age: int = 0) -> Mail:
    return Mail(
        message_id=None,
        subject="Invoice 42",
        sender=sender,
        recipients="Invoices <invoices@clinic.example>",
        date=NOW - timedelta(days=age),
        body="Amount due: 120 EUR",
        attachments=(Attachment("Invoice-42.PDF", b"1"), Attachment("logo.png", b"2")),
    )


def test_a_rule_takes_the_mails_and_attachments_its_filters_name() -> None:
    every = Filters(sender=None, subject=None, attachment=None, max_age_days=0)
    assert matches(every, _mail(age=3650), NOW)
    picky = Filters(
        sender="SUPPLIER.example", subject="invoice", attachment="*.pdf", max_age_days=7
    )
    assert matches(picky, _mail(), NOW)
    assert not matches(picky, _mail(sender="ann@friends.example"), NOW)
    assert not matches(picky, _mail(age=8), NOW)
    assert [a.file_name for a in wanted(picky, _mail())] == ["Invoice-42.PDF"]
    assert [a.file_name for a in wanted(every, _mail())] == ["Invoice-42.PDF", "logo.png"]
    by_recipient = Filters(None, None, None, 0, recipient="INVOICES@clinic")
    assert matches(by_recipient, _mail(), NOW)
    assert not matches(Filters(None, None, None, 0, recipient="hr@clinic"), _mail(), NOW)
    assert matches(Filters(None, None, None, 0, body="amount DUE"), _mail(), NOW)
    assert not matches(Filters(None, None, None, 0, body="overdue"), _mail(), NOW)
    no_logos = Filters(None, None, None, 0, attachment_exclude="LOGO*")
    assert [a.file_name for a in wanted(no_logos, _mail())] == ["Invoice-42.PDF"]
    both = Filters(None, None, "*", 0, attachment_exclude="*.pdf")
    assert [a.file_name for a in wanted(both, _mail())] == ["logo.png"]
    assert since(7, NOW) == NOW - timedelta(days=8)
    assert since(0, NOW) is None


def test_a_change_of_what_a_rule_takes_has_it_look_again() -> None:
    rule = {"name": "Invoices", "filter_body": "due", "consumption": "attachments"}
    assert reconsiders(rule, {"filter_body": None})
    assert reconsiders(rule, {"consumption": "mail", "name": "x"})
    assert not reconsiders(rule, {"filter_body": "due", "name": "Bills"})
    assert not reconsiders(rule, {})


def test_the_title_and_what_an_error_may_say() -> None:
    mail = _mail()
    assert title_of("subject", mail, mail.attachments[0]) == "Invoice 42"
    assert title_of("filename", mail, mail.attachments[0]) is None  # the file name, later
    assert eml_name(mail, 7) == "Invoice 42.eml"
    assert eml_name(Mail(None, 'a/b: "c"?', "", "", None, "", ()), 7) == "a b c.eml"
    assert eml_name(Mail(None, " ... ", "", "", None, "", ()), 7) == "mail-7.eml"
    error = scrubbed("LOGIN failed for docs with hunter2: " + "x" * 1000, "hunter2", "")
    assert "hunter2" not in error
    assert "***" in error
    assert len(error) == MAX_ERROR
