"""Transactional email: rendered by the calling context, sent by a job after commit.

A context renders a :class:`MailMessage` (usually with :class:`MailTemplates`) and calls
:func:`queue_mail` inside its unit of work. The request is an outbox row, so a rolled-back
registration sends no email and a committed one always does.

Rendered mail carries live links (sign-up, password reset, invitation, undo), so it is
queued sealed (AES-256-GCM under a key derived from ``HUB_SECRET_KEY``, see
:func:`seal_mail`): the outbox row (kept ``HUB_OUTBOX_RETENTION_DAYS``), the broker message
and a dead letter hold ciphertext only, and only the send job opens it (with the current
key or one of ``HUB_SECRET_KEY_PREVIOUS``). Recipients are strict addr-specs
(:mod:`hub.kernel.addresses`) and the SMTP envelope is made from them, not from a parsed
``To`` header. The ``kernel.send_mail`` job then delivers it:

* with ``HUB_SMTP_URLS`` (or the one-provider shorthand ``HUB_SMTP_URL``) set
  (``smtp://user:pass@host:587``, ``smtps://host:465``) through aiosmtplib, always over TLS
  unless the URL says ``?starttls=0``: a server that offers no STARTTLS gets neither
  credentials nor message. The providers are tried in order, each behind a circuit breaker
  (:mod:`hub.kernel.mail_failover`): one that is down or refuses is followed by the next.
  When all fail, the job retries: with its backoff if one was down (connection problems, a
  missing STARTTLS, an open breaker); after the longest backoff, ``HUB_JOB_MAX_BACKOFF_MS``,
  if one said 4xx (temporary by RFC 5321: greylisting, a rate limit); and only when every
  one answered 5xx, or every recipient was refused for good, does the mail go straight to
  the dead-letter queue (retrying cannot help);
* without it (development, tests) into the dev mailbox ``HUB_DATA_DIR/mail``, one
  ``<id>.eml`` plus ``<id>.json`` per message, which ``hub mail list`` / ``hub mail show``
  print, so a newcomer can follow a verification link with no mail server.

Redelivery never sends twice: the job claims the request id in the publishing context's
inbox inside a transaction that commits only after the send succeeded (a concurrent
duplicate waits on that row, then skips).
"""

from __future__ import annotations

import base64
import functools
import os
import re
import tempfile
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import aiosmtplib
import dramatiq
import jinja2
import msgspec
import structlog

from hub.kernel.addresses import is_addr_spec, parse_address
from hub.kernel.db import UnitOfWork
from hub.kernel.jobs import JobContext, JobSpec, queue_job
from hub.kernel.outbox import claim_inbox, inbox_of, outbox_of
from hub.kernel.sealing import Sealer, UnsealableError
from hub.kernel.settings import Settings, SmtpConfig

log = structlog.get_logger("hub.mail")

MAIL_QUEUE = "mail"
SEND_MAIL_JOB = "kernel.send_mail"
_INBOX_HANDLER = "kernel.send_mail"
#: HKDF purpose of the key queued mail is sealed with (README: Rotating HUB_SECRET_KEY).
MAIL_SEAL_PURPOSE = "mail-outbox"
#: Associated data of every sealed mail: a value sealed for anything else does not open.
_MAIL_SEAL_CONTEXT = b"hub.kernel.send_mail"
_LINK_RE = re.compile(r"https?://[^\s<>\"')\]]+")


class MailMessage(msgspec.Struct, kw_only=True, frozen=True):
    """One transactional email, already rendered (the kernel adds From, Date, Message-ID)."""

    to: list[str]
    subject: str
    text: str
    html: str | None = None
    reply_to: str | None = None
    #: Extra headers (e.g. ``List-Unsubscribe``); From/To/Subject cannot be overridden.
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    #: Free-form labels (``"verify-email"``) kept with the message, for filtering and logs.
    tags: list[str] = msgspec.field(default_factory=list)
    #: ``None``: HUB_MAIL_FROM.
    sender: str | None = None

    def __post_init__(self) -> None:
        if not self.to:
            raise ValueError("a mail needs at least one recipient address")
        for addr in self.to:
            # The envelope is made from these (never from a parsed To header): anything but
            # one strict addr-spec each (``x<attacker@evil.com>``, ``a,b@x.com``) is refused.
            if not is_addr_spec(addr):
                raise ValueError(f"a mail recipient must be one plain address: {addr!r}")
        if "\n" in self.subject or "\r" in self.subject:
            raise ValueError("a mail subject is one line")


def queue_mail(uow: UnitOfWork, message: MailMessage, *, settings: Settings) -> uuid.UUID:
    """Send ``message`` once ``uow`` commits (never if it rolls back); returns the mail id.

    The id names the message in the dev mailbox and in its ``Message-ID`` header. What is
    queued is the message sealed under ``HUB_SECRET_KEY`` (:func:`seal_mail`): the outbox
    row, the broker message and a dead letter hold no readable link or address.
    """
    return queue_job(uow, SEND_MAIL_JOB, seal_mail(message, settings))


# --------------------------------------------------------------------------- sealing


class UnreadableMailError(Exception):
    """A queued mail no configured key opens (sealed under a key that is neither
    ``HUB_SECRET_KEY`` nor in ``HUB_SECRET_KEY_PREVIOUS``), or not a mail at all."""


@functools.lru_cache(maxsize=8)
def _mail_sealer(secret_key: str, previous: tuple[str, ...]) -> Sealer:
    return Sealer([secret_key, *previous], MAIL_SEAL_PURPOSE)


def mail_sealer(settings: Settings) -> Sealer:
    """The sealer of queued mail (derived once per key set, not per mail)."""
    return _mail_sealer(settings.secret_key, tuple(settings.secret_key_previous))


def seal_mail(message: MailMessage, settings: Settings) -> str:
    """``message`` as the text the mail job is queued with: AES-256-GCM under a key derived
    from ``HUB_SECRET_KEY`` for mail, base64url. Rendered mail carries live links (sign-up,
    password reset, invitation, undo): in clear they would sit in the outbox for
    ``HUB_OUTBOX_RETENTION_DAYS``, in Redis and in dead letters, for anyone who reads a
    replica, a backup or the broker to take over accounts with."""
    sealed = mail_sealer(settings).seal(msgspec.json.encode(message), context=_MAIL_SEAL_CONTEXT)
    return base64.urlsafe_b64encode(sealed).decode("ascii")


def open_mail(queued: object, settings: Settings) -> MailMessage:
    """The message :func:`seal_mail` queued, opened with ``HUB_SECRET_KEY`` or a key of
    ``HUB_SECRET_KEY_PREVIOUS``; :class:`UnreadableMailError` when none opens it.

    A mapping is a request queued in clear by a release before mail was sealed: still
    delivered, so an upgrade strands no mail.
    """
    try:
        if isinstance(queued, Mapping):
            return msgspec.convert(queued, MailMessage)
        if not isinstance(queued, str):
            raise UnreadableMailError(f"a queued mail is sealed text, not {type(queued).__name__}")
        sealed = base64.urlsafe_b64decode(queued.encode("ascii"))
        plain = mail_sealer(settings).open(sealed, context=_MAIL_SEAL_CONTEXT)
        return msgspec.json.decode(plain, type=MailMessage)
    except UnsealableError as exc:
        raise UnreadableMailError(
            "no configured key opens this queued mail: it was sealed under a HUB_SECRET_KEY "
            "that is neither the current key nor listed in HUB_SECRET_KEY_PREVIOUS "
            "(add that key and retry the dead letter)"
        ) from exc
    except (ValueError, msgspec.ValidationError) as exc:
        # Base64 or message shape: name the kind only, never the content.
        raise UnreadableMailError(f"not a queued mail ({type(exc).__name__})") from None


class MailTemplates:
    """Jinja2 templates of one context: ``<name>.subject.txt``, ``<name>.txt``, ``<name>.html``.

    HTML is autoescaped (a user's display name can't inject markup); the subject and text
    parts are not (they are not HTML). Undefined variables are errors, so a typo in a
    template fails the test that renders it instead of sending a blank.
    """

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.directory),
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html",), default_for_string=False, default=False
            ),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(
        self,
        name: str,
        *,
        to: str | list[str],
        context: Mapping[str, Any] | None = None,
        reply_to: str | None = None,
        headers: dict[str, str] | None = None,
        tags: list[str] | None = None,
    ) -> MailMessage:
        values = dict(context or {})
        subject = self.env.get_template(f"{name}.subject.txt").render(values)
        text = self.env.get_template(f"{name}.txt").render(values)
        html: str | None = None
        if (self.directory / f"{name}.html").exists():
            html = self.env.get_template(f"{name}.html").render(values)
        return MailMessage(
            to=[to] if isinstance(to, str) else list(to),
            subject=" ".join(subject.split()),
            text=text,
            html=html,
            reply_to=reply_to,
            headers=dict(headers or {}),
            tags=list(tags) if tags is not None else [name],
        )


# --------------------------------------------------------------------------- mailbox


class StoredMail(msgspec.Struct, kw_only=True, frozen=True):
    """A message as the dev mailbox keeps it (``<id>.json`` beside ``<id>.eml``)."""

    id: str
    sent_at: datetime
    sender: str
    to: list[str]
    subject: str
    text: str
    html: str | None = None
    reply_to: str | None = None
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    tags: list[str] = msgspec.field(default_factory=list)

    def links(self) -> list[str]:
        """Every http(s) URL in the text part, in order (e.g. a verification link)."""
        return _LINK_RE.findall(self.text)


def mailbox_dir(settings: Settings) -> Path:
    return settings.data_dir / "mail"


class Mailbox:
    """The development mailbox: where mail goes when no SMTP server is configured."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def store(self, mail: StoredMail, raw: bytes) -> Path:
        """Write atomically, named by mail id, so a redelivered mail replaces itself."""
        self.directory.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.directory / f"{mail.id}.eml", raw)
        path = self.directory / f"{mail.id}.json"
        _atomic_write(path, msgspec.json.format(msgspec.json.encode(mail)))
        return path

    def list(self, *, to: str | None = None) -> list[StoredMail]:
        """Stored mail, oldest first, optionally only that addressed to ``to``."""
        if not self.directory.is_dir():
            return []
        mails: list[StoredMail] = []
        for path in self.directory.glob("*.json"):
            try:
                mail = msgspec.json.decode(path.read_bytes(), type=StoredMail)
            except (OSError, msgspec.DecodeError):
                continue  # half-written by a crashed process; the .eml is authoritative
            if to is None or to.lower() in (a.lower() for a in mail.to):
                mails.append(mail)
        return sorted(mails, key=lambda m: (m.sent_at, m.id))

    def get(self, mail_id: str) -> StoredMail | None:
        """A mail by id or unambiguous id prefix."""
        if not re.fullmatch(r"[0-9a-fA-F-]{4,36}", mail_id):
            return None
        matches = [m for m in self.list() if m.id.startswith(mail_id.lower())]
        return matches[0] if len(matches) == 1 else None

    def raw(self, mail_id: str) -> bytes | None:
        path = self.directory / f"{mail_id}.eml"
        return path.read_bytes() if path.is_file() else None

    def clear(self) -> None:
        if self.directory.is_dir():
            for path in self.directory.iterdir():
                if path.suffix in (".json", ".eml"):
                    path.unlink(missing_ok=True)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- transports


#: ``sent``; ``refused``: the provider answered 4xx/5xx (the next one is tried);
#: ``down``: no answer (connection refused, time-out, TLS); ``skipped``: its circuit breaker
#: is open, so it was not even tried; ``rejected``: every recipient refused for good (the
#: delivery fails, no other provider is tried).
AttemptOutcome = Literal["sent", "refused", "down", "skipped", "rejected"]


class MailAttempt(msgspec.Struct, kw_only=True, frozen=True):
    """One provider's part in sending one mail (the delivery log shows them in order)."""

    provider: str
    outcome: AttemptOutcome
    error: str | None = None
    at: datetime


class MailTransport(Protocol):
    """Where a built mail goes: the SMTP providers in order, or the dev mailbox."""

    async def send(
        self, email: EmailMessage, stored: StoredMail, attempts: list[MailAttempt] | None = None
    ) -> str:
        """Send it; the name of the provider that took it. Each provider tried (or skipped)
        is appended to ``attempts``, also when it raises."""
        ...


class PermanentMailError(Exception):
    """The server refused the message for good (5xx): retrying cannot help."""


class RecipientsRefusedError(PermanentMailError):
    """Every recipient was refused for good (5xx at RCPT, other than a 5.7.x policy
    answer such as "relaying denied"): the address is wrong, not the provider, so no other
    provider is tried and the provider's circuit breaker is not charged."""


class TemporaryMailError(dramatiq.Retry):
    """The server said "not now" (4xx at any step): retried after ``delay`` ms.

    Not the job's exponential backoff, which starts at a second: a greylisting server
    refuses every attempt within its delay (often five minutes), so an early retry only
    spends one of the job's attempts. Still counted against ``HUB_JOB_MAX_RETRIES``, then
    dead-lettered like any other failure.
    """


class SmtpTlsUnavailable(Exception):
    """The server did not offer STARTTLS: nothing (credentials, message) was sent in clear.

    Retried like a connection failure, since an attacker stripping STARTTLS may come and go;
    a server that never offers it needs ``smtps://`` or, on a trusted network, ``?starttls=0``.
    """


#: An enhanced status code (RFC 3463) at the start of an SMTP answer: ``5.7.1 relay denied``.
_ENHANCED_RE = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")


def _is_policy_answer(message: str) -> bool:
    """A 5.7.x answer (security or policy: relaying denied, authentication required): the
    provider refuses us, not the recipient's address."""
    found = _ENHANCED_RE.match(message)
    return found is not None and found.group(2) == "7"


class SmtpTransport:
    """One SMTP server through aiosmtplib with TLS required: smtps:// from the first byte,
    smtp:// by STARTTLS before AUTH and MAIL (never "STARTTLS if offered", which an attacker
    strips). :class:`hub.kernel.mail_failover.SmtpFailover` tries several in order."""

    def __init__(self, config: SmtpConfig, *, temporary_retry_ms: int = 300_000) -> None:
        self.config = config
        #: How long after a 4xx answer the job runs again (HUB_JOB_MAX_BACKOFF_MS).
        self.temporary_retry_ms = temporary_retry_ms

    async def send(self, email: EmailMessage, stored: StoredMail) -> None:
        """Raises :class:`RecipientsRefusedError` (every recipient refused for good),
        :class:`PermanentMailError` (another 5xx answer), :class:`TemporaryMailError` (a
        4xx answer), :class:`SmtpTlsUnavailable`, or aiosmtplib's connection errors."""
        c = self.config
        # The envelope is the message's own recipients (strict addr-specs, IDNA domains),
        # never what a parser makes of the To header.
        recipients = [parse_address(addr).ascii for addr in stored.to]
        try:
            refused, _ = await aiosmtplib.send(
                email,
                recipients=recipients,
                hostname=c.host,
                port=c.port,
                username=c.username,
                password=c.password,
                use_tls=c.use_tls,
                start_tls=c.start_tls,
                validate_certs=c.validate_certs,
                cert_bundle=c.ca_file,
                timeout=c.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            answers = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            if codes and all(500 <= code < 600 for code in codes):
                if any(_is_policy_answer(r.message) for r in exc.recipients):
                    raise PermanentMailError(f"recipients refused by policy: {answers}") from exc
                raise RecipientsRefusedError(f"every recipient was refused: {answers}") from exc
            raise TemporaryMailError(
                f"every recipient was refused for now: {answers}", delay=self.temporary_retry_ms
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentMailError(f"SMTP {exc.code}: {exc.message}") from exc
            if 400 <= exc.code < 500:
                raise TemporaryMailError(
                    f"SMTP {exc.code}: {exc.message}", delay=self.temporary_retry_ms
                ) from exc
            raise
        except aiosmtplib.SMTPException as exc:
            # aiosmtplib 5 raises a bare SMTPException, before AUTH and MAIL, when the
            # server's EHLO lists no STARTTLS.
            if c.start_tls and "STARTTLS extension not supported" in str(exc):
                log.warning("smtp_starttls_missing", host=c.host, port=c.port, mail_id=stored.id)
                raise SmtpTlsUnavailable(
                    f"{c.host}:{c.port} did not offer STARTTLS; refusing to send in clear text"
                ) from exc
            raise
        if refused:
            # Delivered to the others; resending would duplicate their copy, so these are
            # only reported.
            log.warning(
                "mail_recipients_refused",
                mail_id=stored.id,
                refused={r: f"{a.code} {a.message}" for r, a in refused.items()},
            )


class MailboxTransport:
    """The development mailbox as a transport (no SMTP provider configured)."""

    NAME = "mailbox"

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def send(
        self, email: EmailMessage, stored: StoredMail, attempts: list[MailAttempt] | None = None
    ) -> str:
        path = self.mailbox.store(stored, email.as_bytes())
        log.info("mail_stored", mail_id=stored.id, to=stored.to, path=str(path))
        if attempts is not None:
            attempts.append(MailAttempt(provider=self.NAME, outcome="sent", at=stored.sent_at))
        return self.NAME


def build_email(
    message: MailMessage, *, mail_id: str, sender: str, domain: str = "hub.local"
) -> tuple[EmailMessage, StoredMail]:
    stored = StoredMail(
        id=mail_id,
        sent_at=datetime.now(UTC),
        sender=message.sender or sender,
        to=list(message.to),
        subject=message.subject,
        text=message.text,
        html=message.html,
        reply_to=message.reply_to,
        headers=dict(message.headers),
        tags=list(message.tags),
    )
    email = EmailMessage()
    email["From"] = stored.sender
    email["To"] = ", ".join(parse_address(addr).ascii for addr in stored.to)
    email["Subject"] = stored.subject
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = f"<{mail_id}@{domain}>"
    if stored.reply_to:
        email["Reply-To"] = stored.reply_to
    reserved = {"from", "to", "subject", "date", "message-id", "reply-to", "cc", "bcc"}
    for name, value in stored.headers.items():
        if name.lower() not in reserved and "\n" not in value and "\r" not in value:
            email[name] = value
    if stored.tags:
        email["X-Hub-Tags"] = ", ".join(stored.tags)
    email.set_content(stored.text)
    if stored.html is not None:
        email.add_alternative(stored.html, subtype="html")
    return email, stored


async def _send_mail(ctx: JobContext, message: str | dict[str, Any]) -> None:
    # Opened only here, in the worker's memory; the queued (and dead-lettered) copy stays
    # sealed, and nothing below logs the text, the HTML or the links.
    settings = ctx.kernel.settings
    mail = open_mail(message, settings)
    domain = urlsplit(settings.public_url).hostname or "hub.local"
    email, stored = build_email(
        mail, mail_id=ctx.idempotency_key, sender=settings.mail_from, domain=domain
    )
    transport: MailTransport = ctx.kernel.mail_transport
    if ctx.schema is None:  # sent directly, not through an outbox: nothing to claim
        await transport.send(email, stored)
        return
    async with ctx.kernel.db.unit_of_work(outbox_of(ctx.schema)) as uow:
        first = await claim_inbox(
            uow.session,
            inbox_of(ctx.schema),
            uuid.UUID(ctx.idempotency_key),
            _INBOX_HANDLER,
            SEND_MAIL_JOB,
        )
        if not first:
            log.info("mail_already_sent", mail_id=stored.id)
            return
        provider = await transport.send(email, stored)
        await uow.commit()
    log.info("mail_sent", mail_id=stored.id, tags=stored.tags, provider=provider)


SEND_MAIL = JobSpec(
    name=SEND_MAIL_JOB,
    fn=_send_mail,
    queue=MAIL_QUEUE,
    throws=(PermanentMailError, UnreadableMailError),
)
