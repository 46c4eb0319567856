"""Mail through several SMTP providers in order (``HUB_SMTP_URLS``), each behind its own
circuit breaker (:mod:`hub.kernel.mail_breaker`).

For each mail the providers are tried in the configured order until one takes it:

* **fails over** (the next provider is tried, and the breaker counts a failure) when a
  provider is *down* (connection refused or reset, time-out, TLS failure, no STARTTLS) or
  *refuses* (a 4xx answer at any step; a 5xx answer to the greeting, EHLO, AUTH, MAIL or
  DATA; a 5.7.x policy answer such as "relaying denied" at RCPT): another provider may
  well take the mail;
* **fails the delivery** (no other provider is tried, the breaker counts a success, the
  provider did its job) when every recipient is refused for good (5xx at RCPT other than
  5.7.x: no such user, no such domain): another provider would be told the same;
* **skips** a provider whose breaker is open: it is not even connected to.

When every provider failed, the job decides from the whole picture: one was down or
skipped: retried with the job's backoff (:class:`MailProvidersUnavailable`); else one
answered 4xx: retried after ``HUB_JOB_MAX_BACKOFF_MS`` (:class:`TemporaryMailError`); else
all answered 5xx: dead-lettered at once (:class:`PermanentMailError`). Every attempt is
appended to the caller's list (:class:`MailAttempt`), so communication's delivery log shows
which providers were tried, how each failed and which one sent.
"""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib
import structlog
from redis.asyncio import Redis

from hub.kernel.clock import Clock
from hub.kernel.mail import (
    AttemptOutcome,
    MailAttempt,
    Mailbox,
    MailboxTransport,
    MailTransport,
    PermanentMailError,
    RecipientsRefusedError,
    SmtpTlsUnavailable,
    SmtpTransport,
    StoredMail,
    TemporaryMailError,
    mailbox_dir,
)
from hub.kernel.mail_breaker import CircuitOpen, ProviderBreakers
from hub.kernel.settings import Settings

log = structlog.get_logger("hub.mail")

#: Longest error text kept per attempt.
MAX_ATTEMPT_ERROR = 300

#: What a provider is blamed for: it refused (answered 4xx/5xx) or was down.
REFUSED = (PermanentMailError, TemporaryMailError)
DOWN = (SmtpTlsUnavailable, aiosmtplib.SMTPException, OSError)
PROVIDER_FAILURES: tuple[type[BaseException], ...] = (*REFUSED, *DOWN)


def is_provider_failure(exc: BaseException) -> bool:
    """Whether ``exc`` charges the provider's breaker: it was down or refused us, not the
    recipients (a refused address is the address's fault)."""
    return isinstance(exc, PROVIDER_FAILURES) and not isinstance(exc, RecipientsRefusedError)


class MailProvidersUnavailable(Exception):
    """No provider took the mail and at least one was down or skipped (breaker open):
    retried with the job's backoff, like a connection failure with a single server."""


class SmtpFailover:
    """The configured SMTP providers in order, each behind its circuit breaker."""

    def __init__(
        self,
        transports: list[SmtpTransport],
        breakers: ProviderBreakers,
        *,
        clock: Clock,
        temporary_retry_ms: int,
    ) -> None:
        if not transports:
            raise ValueError("SmtpFailover needs at least one SMTP provider")
        self.transports = transports
        self.breakers = breakers
        self._clock = clock
        self.temporary_retry_ms = temporary_retry_ms

    @property
    def clock(self) -> Clock:
        return self._clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        """The clock of the attempts' times and of the breakers (tests move it)."""
        self._clock = clock
        self.breakers.clock = clock

    @property
    def providers(self) -> list[str]:
        return [t.config.name for t in self.transports]

    async def send(
        self, email: EmailMessage, stored: StoredMail, attempts: list[MailAttempt] | None = None
    ) -> str:
        tried: list[MailAttempt] = [] if attempts is None else attempts
        failures: list[tuple[AttemptOutcome, BaseException | None]] = []
        for transport in self.transports:
            name = transport.config.name
            breaker = await self.breakers.breaker(name)
            try:
                async with breaker:
                    await transport.send(email, stored)
            except CircuitOpen:
                tried.append(self._attempt(name, "skipped", "circuit breaker open"))
                failures.append(("skipped", None))
                log.info("mail_provider_skipped", provider=name, mail_id=stored.id)
                continue
            except RecipientsRefusedError as exc:
                tried.append(self._attempt(name, "rejected", _describe(exc)))
                raise
            except PROVIDER_FAILURES as exc:
                outcome: AttemptOutcome = "refused" if isinstance(exc, REFUSED) else "down"
                tried.append(self._attempt(name, outcome, _describe(exc)))
                failures.append((outcome, exc))
                log.warning(
                    "mail_provider_failed",
                    provider=name,
                    outcome=outcome,
                    mail_id=stored.id,
                    error=_describe(exc),
                )
                continue
            tried.append(self._attempt(name, "sent", None))
            return name
        raise self._all_failed(stored, tried, failures)

    def _attempt(self, provider: str, outcome: AttemptOutcome, error: str | None) -> MailAttempt:
        return MailAttempt(provider=provider, outcome=outcome, error=error, at=self._clock())

    def _all_failed(
        self,
        stored: StoredMail,
        tried: list[MailAttempt],
        failures: list[tuple[AttemptOutcome, BaseException | None]],
    ) -> Exception:
        summary = "every SMTP provider failed: " + "; ".join(
            f"{a.provider} {a.outcome}" + (f" ({a.error})" if a.error else "") for a in tried
        )
        if any(outcome in ("down", "skipped") for outcome, _ in failures):
            return MailProvidersUnavailable(summary)
        if any(isinstance(exc, TemporaryMailError) for _, exc in failures):
            log.info(
                "mail_deferred",
                mail_id=stored.id,
                answer=summary,
                retry_in_ms=self.temporary_retry_ms,
            )
            return TemporaryMailError(summary, delay=self.temporary_retry_ms)
        return PermanentMailError(summary)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ATTEMPT_ERROR]


def mail_transport(settings: Settings, redis: Redis, clock: Clock) -> MailTransport:
    """The transport of this process: the SMTP providers of ``HUB_SMTP_URLS`` (or
    ``HUB_SMTP_URL``) with their breakers, else the development mailbox."""
    providers = settings.smtp_providers()
    if not providers:
        return MailboxTransport(Mailbox(mailbox_dir(settings)))
    breakers = ProviderBreakers(
        redis,
        failures=settings.smtp_breaker_failures,
        reset_s=settings.smtp_breaker_reset_s,
        clock=clock,
        counts=is_provider_failure,
    )
    return SmtpFailover(
        [SmtpTransport(p, temporary_retry_ms=settings.job_max_backoff_ms) for p in providers],
        breakers,
        clock=clock,
        temporary_retry_ms=settings.job_max_backoff_ms,
    )
