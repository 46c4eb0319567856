"""Mail consumption (Paperless-ngx's mail rules), without I/O: what a rule takes from a
mail, and what the mail becomes.

A mail is parsed once, here, from the bytes the IMAP server gave (the standard library's
``email`` package with the modern policy: headers decoded, RFC 2231 file names
understood); the rest decides from the parsed value. Filters are case-insensitive
substrings of the decoded sender and subject (the server's own ``SEARCH`` is not used for
them: servers differ in how they match non-ASCII text), and a file-name pattern for the
attachments. An attachment is a part with a file name that is not a multipart (inline
images with a name count, as in Paperless-ngx; a part without a name is the mail's body).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from typing import Any

SECURITIES = ("ssl", "starttls", "none")
ACTIONS = ("mark_read", "flag", "move", "delete")
TITLES_FROM = ("subject", "filename")
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
    date: datetime | None
    attachments: tuple[Attachment, ...]


@dataclass(frozen=True)
class Filters:
    sender: str | None
    subject: str | None
    attachment: str | None
    max_age_days: int


def parse_mail(raw: bytes) -> Mail:
    """The parts of a mail a rule looks at (a malformed header is taken as text: the
    parser is lenient by design, and a rule only reads these few values)."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    attachments = []
    for part in message.walk():
        if part.is_multipart():
            continue
        name = part.get_filename()
        if not name:
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            attachments.append(Attachment(file_name=str(name), data=payload))
    return Mail(
        message_id=_header(message, "message-id") or None,
        subject=_header(message, "subject"),
        sender=_header(message, "from"),
        date=_date(_header(message, "date")),
        attachments=tuple(attachments),
    )


def _header(message: EmailMessage, name: str) -> str:
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
    """Whether the mail is one the rule is about (its sender, subject and age)."""
    if filters.sender and filters.sender.casefold() not in mail.sender.casefold():
        return False
    if filters.subject and filters.subject.casefold() not in mail.subject.casefold():
        return False
    return not (
        filters.max_age_days and mail.date and mail.date < now - timedelta(filters.max_age_days)
    )


def wanted(filters: Filters, mail: Mail) -> list[Attachment]:
    """The attachments the rule takes (all, or those whose name fits the pattern)."""
    if not filters.attachment:
        return list(mail.attachments)
    pattern = filters.attachment.casefold()
    return [a for a in mail.attachments if fnmatch.fnmatchcase(a.file_name.casefold(), pattern)]


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
