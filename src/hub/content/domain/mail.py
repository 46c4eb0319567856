"""Mail consumption (Paperless-ngx's mail rules), without I/O: what a rule takes from a
mail, and what the mail becomes.

A mail is parsed once, here, from the bytes the IMAP server gave (the standard library's
``email`` package with the modern policy: headers decoded, RFC 2231 file names
understood); the rest decides from the parsed value. Filters are case-insensitive
substrings of the decoded sender, recipients, subject and body text (the server's own
``SEARCH`` is not used for them: servers differ in how they match non-ASCII text), and
file-name patterns that attachments must and must not match. An attachment is a part
with a file name that is not a multipart (inline images with a name count, as in
Paperless-ngx; a part without a name is the mail's body).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from typing import Any

from hub.content.domain.extraction import html_text

SECURITIES = ("ssl", "starttls", "none")
ACTIONS = ("mark_read", "flag", "move", "delete")
TITLES_FROM = ("subject", "filename")
#: What a rule makes of a mail it takes: its attachments (each a document), the mail
#: itself (one ``.eml`` document) or both.
CONSUMPTIONS = ("attachments", "mail", "everything")
#: Default ports per security.
PORTS = {"ssl": 993, "starttls": 143, "none": 143}
#: Mails one rule looks at in one run (the newest first); the rest wait for the next.
MAX_MAILS_PER_RUN = 50
MAX_RULES_PER_ORGANISATION = 100
MAX_ACCOUNTS_PER_ORGANISATION = 20
MAX_ERROR = 500
#: A folder name as the server lists it: printable ASCII (non-ASCII names travel in
#: IMAP's modified UTF-7, which is ASCII too), no quote or backslash (the hub quotes it).
FOLDER_PATTERN = r"^[\x20\x21\x23-\x5b\x5d-\x7e]{1,200}$"


@dataclass(frozen=True)
class Attachment:
    file_name: str
    data: bytes


@dataclass(frozen=True)
class Mail:
    message_id: str | None
    subject: str
    sender: str
    #: The decoded To, Cc and Delivered-To headers.
    recipients: str
    date: datetime | None
    #: The text a reader sees (see :func:`body_text`).
    body: str
    attachments: tuple[Attachment, ...]


@dataclass(frozen=True)
class Filters:
    sender: str | None
    subject: str | None
    attachment: str | None
    max_age_days: int
    recipient: str | None = None
    body: str | None = None
    attachment_exclude: str | None = None


def mail_message(raw: bytes) -> EmailMessage:
    """The parsed mail (lenient by design: a malformed header is kept as text)."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def parse_mail(raw: bytes) -> Mail:
    """The parts of a mail a rule looks at."""
    message = mail_message(raw)
    attachments = []
    for name, part in attachment_parts(message):
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            attachments.append(Attachment(file_name=name, data=payload))
    recipients = (header_text(message, name) for name in ("to", "cc", "delivered-to"))
    return Mail(
        message_id=header_text(message, "message-id") or None,
        subject=header_text(message, "subject"),
        sender=header_text(message, "from"),
        recipients=" ".join(r for r in recipients if r),
        date=_date(header_text(message, "date")),
        body=body_text(message),
        attachments=tuple(attachments),
    )


def attachment_parts(message: EmailMessage) -> list[tuple[str, EmailMessage]]:
    """The parts with a file name that are not containers, and their names."""
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        name = part.get_filename()
        if name:
            assert isinstance(part, EmailMessage)
            found.append((str(name), part))
    return found


def body_text(message: EmailMessage) -> str:
    """The text a reader of the mail sees: its plain-text body, or its HTML body's text
    when it has only that; empty when it has neither."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except (KeyError, TypeError, ValueError):
        return ""
    if not isinstance(part, EmailMessage):
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError, AssertionError):  # an unknown charset
        raw = part.get_payload(decode=True)
        content = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
    text = content if isinstance(content, str) else ""
    return html_text(text) if part.get_content_subtype() == "html" else text


def header_text(message: EmailMessage, name: str) -> str:
    """A header's decoded value on one line, without control characters."""
    try:
        value: Any = message.get(name)
    except (ValueError, IndexError, TypeError):  # a header the policy cannot parse
        value = ""
    text = str(value or "")
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", " ".join(text.split()))[:998]


def _date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    return when if when is not None and when.tzinfo is not None else None


def matches(filters: Filters, mail: Mail, now: datetime) -> bool:
    """Whether the mail is one the rule is about (its sender, recipients, subject, body
    and age)."""
    for wanted_text, text in (
        (filters.sender, mail.sender),
        (filters.recipient, mail.recipients),
        (filters.subject, mail.subject),
        (filters.body, mail.body),
    ):
        if wanted_text and wanted_text.casefold() not in text.casefold():
            return False
    return not (
        filters.max_age_days and mail.date and mail.date < now - timedelta(filters.max_age_days)
    )


def wanted(filters: Filters, mail: Mail) -> list[Attachment]:
    """The attachments the rule takes: those whose name fits the pattern (all, without
    one) and not the exclusion pattern."""

    def fits(pattern: str, name: str) -> bool:
        return fnmatch.fnmatchcase(name.casefold(), pattern.casefold())

    return [
        a
        for a in mail.attachments
        if (not filters.attachment or fits(filters.attachment, a.file_name))
        and not (filters.attachment_exclude and fits(filters.attachment_exclude, a.file_name))
    ]


def eml_name(mail: Mail, uid: int) -> str:
    """The file name of a mail kept whole: its subject (``mail-<uid>`` without one)
    and ``.eml`` (the upload intake sanitises it like any name)."""
    stem = " ".join(re.sub(r"[\\/:*?\"<>|]+", " ", mail.subject).split()).strip(" .")[:150]
    return f"{stem or f'mail-{uid}'}.eml"


#: The columns of a rule that decide which mails it takes and what it makes of them.
SELECTING = frozenset(
    {
        "account_id",
        "folder",
        "filter_from",
        "filter_to",
        "filter_subject",
        "filter_body",
        "filter_attachment",
        "filter_attachment_exclude",
        "consumption",
        "max_age_days",
    }
)


def reconsiders(rule: Mapping[str, Any], changes: Mapping[str, Any]) -> bool:
    """Whether a change makes the mails the rule skipped worth another look (as
    Paperless-ngx, which never records a mail it did not take): it changes what the
    rule takes. What it consumed or failed on stays as it was: never made twice."""
    return any(name in SELECTING and rule[name] != value for name, value in changes.items())


def title_of(title_from: str, mail: Mail, attachment: Attachment) -> str | None:
    """The document's title: the mail's subject, or None for the file name."""
    if title_from == "subject" and mail.subject:
        return mail.subject
    return None


def since(max_age_days: int, now: datetime) -> datetime | None:
    """The ``SEARCH SINCE`` date narrowing the server's answer (a day early: IMAP dates
    have no time zone)."""
    return now - timedelta(days=max_age_days + 1) if max_age_days else None


def scrubbed(error: str, *secrets: str) -> str:
    """An error text fit to store and show: no secret in it, at most ``MAX_ERROR``."""
    for secret in secrets:
        if secret:
            error = error.replace(secret, "***")
    return error[:MAX_ERROR]
