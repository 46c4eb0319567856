"""Typed settings read from ``HUB_*`` environment variables.

Validated once at start so a bad deployment fails before it serves a request, and so a
production start can refuse the development conveniences (embedded servers, default
secrets, the on-disk mailbox) with a message that names the setting to change.

Each field carries its own rule: a range as a msgspec ``Meta`` constraint, a form as a
check function in ``Meta(extra={"check": ...})`` (URLs, origins, host names). A bad value
stops :func:`load_settings` with one line naming the variable, the rule and the value given
(credentials in URLs masked, the secret key never shown).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import sys
import tomllib
from collections.abc import Callable, Iterator, Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

import msgspec
import msgspec.inspect as mi
from msgspec import Meta

Environment = Literal["development", "test", "production"]

#: The development secret. Production refuses to start with it.
DEFAULT_SECRET_KEY = "hub-development-secret-do-not-use-in-production"  # noqa: S105


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


class _Broken(ValueError):
    """Raised by a field's check. ``got``: the culprit (a list's bad item), else the value;
    ``rule``: a more precise rule than the field's own."""

    def __init__(self, got: object = None, rule: str | None = None) -> None:
        super().__init__(rule)
        self.got = got
        self.rule = rule


# --------------------------------------------------------------------------- form checks

_HOST_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME_RE = re.compile(rf"^(?=.{{1,253}}$){_HOST_LABEL}(?:\.{_HOST_LABEL})*\.?$")
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _is_host(name: str) -> bool:
    """A DNS name, an IPv4 address or a bracketed IPv6 address (as in a URL or Host header)."""
    if name.startswith("[") and name.endswith("]"):
        try:
            ipaddress.IPv6Address(name[1:-1])
        except ValueError:
            return False
        return True
    return bool(_HOSTNAME_RE.match(name))


def _port_is_valid(parts: SplitResult) -> bool:
    """No port, or one from 1 to 65535 (urllib parses it lazily, raising past 65535)."""
    try:
        port = parts.port
    except ValueError:
        return False
    return port != 0


#: The drivers hub.kernel.db.async_url turns into asyncpg.
_POSTGRES_SCHEMES = (
    "postgresql",
    "postgres",
    "postgresql+asyncpg",
    "postgresql+psycopg",
    "postgresql+psycopg2",
)


def _check_postgres_url(url: str) -> None:
    parts = urlsplit(url)
    socket = parse_qs(parts.query).get("host", [""])[-1]
    if (
        parts.scheme not in _POSTGRES_SCHEMES
        or not parts.netloc
        or not (parts.hostname or socket)
        or not _port_is_valid(parts)
    ):
        raise _Broken


def _check_redis_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss"):
        database = parts.path.strip("/")
        if (
            not parts.hostname
            or not _port_is_valid(parts)
            or not (database == "" or database.isdigit())
        ):
            raise _Broken
    elif parts.scheme != "unix" or not parts.path:
        raise _Broken


def _check_public_url(url: str) -> None:
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
        or not _port_is_valid(parts)
    ):
        raise _Broken


def parse_quota(variable: str, text: str) -> tuple[int, int]:
    """``"600/60"`` -> ``(600, 60)``: that many requests per that many seconds."""
    count, slash, window = text.strip().partition("/")
    try:
        requests, seconds = int(count), int(window)
    except ValueError:
        requests = seconds = 0
    if not slash or requests < 1 or seconds < 1:
        raise SettingsError(
            f"{variable} must read <requests>/<seconds> with two whole numbers >= 1 "
            f"(e.g. 600/60), got {text!r}"
        )
    return requests, seconds


def _check_quota(text: str) -> None:
    try:
        parse_quota("", text)
    except SettingsError:
        raise _Broken from None


def _check_frontend_url(url: str) -> None:
    """Empty (the hub serves its own link pages) or a base ``{url}/verify-email?token=…``
    can be appended to: absolute http(s), no query, fragment or whitespace."""
    if url == "":
        return
    if "?" in url or "#" in url or any(c.isspace() for c in url):
        raise _Broken
    _check_public_url(url)


def _check_origins(origins: tuple[str, ...]) -> None:
    for origin in origins:
        if origin == "*":
            continue
        parts = urlsplit(origin)
        if (
            not _SCHEME_RE.match(parts.scheme)
            or not parts.netloc
            or "@" in parts.netloc
            or parts.path
            or parts.query
            or parts.fragment
            or "?" in origin
            or "#" in origin
            or not _port_is_valid(parts)
        ):
            raise _Broken(origin)
        host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
        if not _is_host(host):
            raise _Broken(origin)


def _check_hosts(hosts: tuple[str, ...]) -> None:
    if not hosts:
        raise _Broken
    for host in hosts:
        name = host[2:] if host.startswith("*.") else host
        if host != "*" and not _is_host(name):
            raise _Broken(host)


def _check_networks(networks: tuple[str, ...]) -> None:
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise _Broken(network) from None


def _check_log_level(level: str) -> None:
    if level.upper() not in _LOG_LEVELS:
        raise _Broken


def _check_mail_from(sender: str) -> None:
    _, address = parseaddr(sender)
    if "@" not in address or "\n" in sender or "\r" in sender:
        raise _Broken


def _check_directory(path: Path) -> None:
    if not path.is_dir():
        raise _Broken


def _check_smtp_url(url: str) -> None:
    try:
        parse_smtp_url(url)
    except ValueError as exc:
        raise _Broken(rule=str(exc).removeprefix("HUB_SMTP_URL must be ")) from None


def _check_smtp_urls(urls: tuple[str, ...]) -> None:
    try:
        parse_smtp_urls(urls)
    except SmtpUrlError as exc:
        raise _Broken(exc.url, rule=str(exc)) from None


_CONTEXT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _check_context_names(names: tuple[str, ...]) -> None:
    for name in names:
        if not _CONTEXT_NAME_RE.match(name):
            raise _Broken(name)
    if len(set(names)) != len(names):
        raise _Broken(rule="a comma-separated list of context names, each named once")


def _checked(check: Callable[[Any], None], rule: str) -> Meta:
    """A form rule: ``check`` raises :class:`_Broken`; ``rule`` completes "HUB_X must be …"."""
    return Meta(extra={"check": check, "rule": rule})


PostgresUrl = Annotated[
    str,
    _checked(
        _check_postgres_url,
        "a postgresql:// URL with a host or socket "
        "(postgresql://user:pass@host:5432/db, postgresql://user@/db?host=/run/postgresql)",
    ),
]
RedisUrl = Annotated[
    str,
    _checked(
        _check_redis_url,
        "a redis://host:6379/0, rediss://host:6379/0 or unix:///path/redis.sock URL",
    ),
]
SmtpUrl = Annotated[
    str,
    _checked(_check_smtp_url, "an smtp://user:pass@host:587 or smtps://user:pass@host:465 URL"),
]
SmtpUrls = Annotated[
    tuple[str, ...],
    _checked(
        _check_smtp_urls,
        "a comma-separated list of smtp:// or smtps:// URLs, each provider named once",
    ),
]
HttpUrl = Annotated[
    str,
    _checked(
        _check_public_url,
        "an http:// or https:// URL without query or fragment (https://hub.example.com)",
    ),
]
Origins = Annotated[
    tuple[str, ...],
    _checked(_check_origins, "a comma-separated list of origins, each scheme://host[:port] or '*'"),
]
HostNames = Annotated[
    tuple[str, ...],
    _checked(
        _check_hosts,
        "a comma-separated list of host names without port (example.com, *.example.com, "
        "192.0.2.1, [2001:db8::1]) or '*'",
    ),
]
Networks = Annotated[
    tuple[str, ...],
    _checked(
        _check_networks,
        "a comma-separated list of IP addresses or networks (10.0.0.0/8, 2001:db8::/32)",
    ),
]
LogLevel = Annotated[
    str, _checked(_check_log_level, "one of " + ", ".join(_LOG_LEVELS) + " (any case)")
]
MailAddress = Annotated[
    str,
    _checked(_check_mail_from, "a mail address, optionally with a name (Hub <hub@example.com>)"),
]
Directory = Annotated[Path, _checked(_check_directory, "an existing directory")]
ContextNames = Annotated[
    tuple[str, ...],
    _checked(
        _check_context_names,
        "a comma-separated list of context names (identity,content), or unset for all",
    ),
]
#: Never echoed in an error message.
Secret = Annotated[str, Meta(min_length=1, extra={"secret": True})]
Port = Annotated[int, Meta(ge=1, le=65535)]
Token = Annotated[str, Meta(pattern=r"^\S*$", extra={"rule": "a string without spaces"})]
Quota = Annotated[
    str,
    _checked(_check_quota, "<requests>/<seconds> with two whole numbers >= 1 (e.g. 600/60)"),
]


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    """Every ``HUB_*`` setting. The README's configuration table mirrors this class."""

    env: Environment = "development"
    data_dir: Path = Path(".hub")
    database_url: PostgresUrl | None = None
    redis_url: RedisUrl | None = None
    secret_key: Secret = DEFAULT_SECRET_KEY
    allow_embedded: bool = False
    allow_insecure_defaults: bool = False
    public_url: HttpUrl = "http://127.0.0.1:8000"
    cors_origins: Origins = ()
    allowed_hosts: HostNames = ("localhost", "127.0.0.1", "[::1]", "testserver.local")
    trusted_proxies: Networks = ()
    max_body_bytes: Annotated[int, Meta(ge=1)] = 10 * 1024 * 1024
    log_level: LogLevel = "INFO"
    log_format: Literal["console", "json"] = "console"
    db_pool_size: Annotated[int, Meta(ge=1, le=1000)] = 10
    #: 0: overflow connections are closed on return, so under load a pool with overflow
    #: kept reconnecting (40-60 new PostgreSQL sessions per 1,000 requests measured).
    db_max_overflow: Annotated[int, Meta(ge=0, le=1000)] = 0
    db_echo: bool = False
    #: Longest wait for one database operation: a pooled or new connection, one statement,
    #: a commit. Measured by the client, so a frozen or unreachable server is bounded too;
    #: past it the request answers 503 dependency_unavailable.
    db_timeout_ms: Annotated[int, Meta(ge=100, le=3_600_000)] = 10_000
    #: Longest wait for one Redis command or connection (503 dependency_unavailable past it;
    #: rate limits fail open instead).
    redis_timeout_ms: Annotated[int, Meta(ge=100, le=600_000)] = 2_000
    migrations_dir: Directory | None = None
    worker_processes: Annotated[int, Meta(ge=1, le=256)] = 1
    worker_threads: Annotated[int, Meta(ge=1, le=1024)] = 4
    job_max_retries: Annotated[int, Meta(ge=0, le=1000)] = 5
    job_min_backoff_ms: Annotated[int, Meta(ge=1)] = 1_000
    #: At least HUB_JOB_MIN_BACKOFF_MS (checked in :func:`load_settings`).
    job_max_backoff_ms: Annotated[int, Meta(ge=1)] = 300_000
    job_time_limit_ms: Annotated[int, Meta(ge=1_000)] = 600_000
    #: A worker silent this long is presumed dead and its unacked jobs run again.
    job_heartbeat_timeout_ms: Annotated[int, Meta(ge=1_000)] = 60_000
    #: Out of a million broker commands, how many also run queue maintenance.
    job_maintenance_chance: Annotated[int, Meta(ge=1, le=1_000_000)] = 1_000
    job_dead_message_ttl_ms: Annotated[int, Meta(ge=1_000)] = 7 * 86_400_000
    #: Longest pause of an idle worker between two polls of a queue.
    worker_idle_poll_ms: Annotated[int, Meta(ge=1, le=60_000)] = 200
    #: Serve the worker's Prometheus metrics on this port (``hub worker``); unset: off.
    worker_metrics_port: Port | None = None
    relay_batch_size: Annotated[int, Meta(ge=1, le=100_000)] = 500
    #: Most events of one subscriber carried (and handled in one transaction) per message.
    event_run_size: Annotated[int, Meta(ge=1, le=10_000)] = 50
    relay_sweep_interval_ms: Annotated[int, Meta(ge=1)] = 1_000
    #: Under a stream of commits, wait this long after a wake-up for more to batch with it.
    relay_coalesce_ms: Annotated[int, Meta(ge=0, le=10_000)] = 20
    outbox_retention_days: Annotated[int, Meta(ge=1)] = 7
    inbox_retention_days: Annotated[int, Meta(ge=1)] = 30
    #: smtp:// requires STARTTLS, smtps:// is implicit TLS; ``?starttls=0`` alone sends in
    #: clear text (see :func:`parse_smtp_url`). Unset: the dev mailbox (refused in production).
    smtp_url: SmtpUrl | None = None
    #: Several SMTP providers, tried in this order (hub.kernel.mail_failover): each like
    #: HUB_SMTP_URL, plus ``?name=`` for the delivery log. HUB_SMTP_URL alone is the
    #: one-provider shorthand; both set: HUB_SMTP_URL must be the first of these.
    smtp_urls: SmtpUrls = ()
    #: Consecutive failures (down, or refusing other than a recipient) that open a
    #: provider's circuit breaker: it is then skipped until HUB_SMTP_BREAKER_RESET_S passed.
    smtp_breaker_failures: Annotated[int, Meta(ge=1, le=1000)] = 5
    #: Seconds an open breaker skips its provider before one trial send (half-open).
    smtp_breaker_reset_s: Annotated[int, Meta(ge=1, le=86_400)] = 60
    mail_from: MailAddress = "Hub <no-reply@localhost>"
    # Access tokens: issued by identity, verified by the kernel (docs/identity.md).
    jwt_issuer: Token = ""  # empty: public_url
    jwt_audience: Annotated[str, Meta(pattern=r"^\S+$", extra={"rule": "a non-empty word"})] = (
        "hub-api"
    )
    #: More than a few minutes would keep expired tokens working.
    jwt_leeway_seconds: Annotated[int, Meta(ge=0, le=300)] = 10
    #: Access tokens each process remembers as verified, so a client's next request with
    #: the same token skips the signature check (``TokenVerifier``); 0: check every time.
    verified_tokens_kept: Annotated[int, Meta(ge=0, le=1_000_000)] = 4096
    #: At most a day: a revoked session id is remembered for this long, and a longer-lived
    #: token is a longer-lived leak.
    access_token_ttl_seconds: Annotated[int, Meta(ge=60, le=86_400)] = 900
    #: How long an Idempotency-Key is remembered (its first response replayed).
    idempotency_ttl_seconds: Annotated[int, Meta(ge=60)] = 86400
    #: Former HUB_SECRET_KEY values (comma-separated), still accepted to open and verify
    #: what they sealed or hashed while ``hub secrets rotate`` moves it to the current key.
    #: Base URL of the frontend that opens the links in identity's mails; empty: the hub
    #: serves minimal pages of its own at those paths (development).
    frontend_url: Annotated[
        str,
        _checked(
            _check_frontend_url,
            "an absolute http(s) URL without query or fragment (https://app.example.com), "
            "or empty for the hub's own pages",
        ),
    ] = ""
    # Rate limits (kernel.ratelimit; README "Rate limits"). Quotas read "<requests>/<seconds>"
    # per caller (user or API key); each client address gets the same quota times the factor.
    rate_limit_enabled: bool = True
    rate_limit_reads: Quota = "1200/60"
    rate_limit_writes: Quota = "300/60"
    rate_limit_uploads: Quota = "60/60"
    rate_limit_search: Quota = "120/60"
    rate_limit_sends: Quota = "60/60"
    #: Credential and account-mail endpoints (sign-up, sign-in, password reset...): each
    #: request may cost an argon2 hash (~40 ms of a core) or send a mail, so the quota is
    #: small; an anonymous client gets it times the address factor (20 a minute).
    rate_limit_auth: Quota = "5/60"
    #: An address may carry several users (an office behind NAT): its quota is the caller's
    #: times this factor, for every bucket.
    rate_limit_address_factor: Annotated[int, Meta(ge=1, le=10_000)] = 4
    secret_key_previous: Annotated[
        tuple[Annotated[str, Meta(min_length=16)], ...],
        Meta(extra={"secret": True, "rule": "comma-separated former keys, 16+ characters each"}),
    ] = ()
    # Splitting contexts into services (hub.kernel.remote; docs/splitting.md).
    #: The contexts this process serves (routes, handlers, jobs, migrations, internal API);
    #: empty: all of them (the monolith).
    contexts: ContextNames = ()
    #: Where a context this process does not serve is served (its internal API), for the
    #: contexts that call it; required for each one a served context depends on.
    remote_identity_url: HttpUrl | None = None
    remote_content_url: HttpUrl | None = None
    remote_communication_url: HttpUrl | None = None
    #: Only the pack engine calls workflow (``WorkflowConfigApi``): set it to apply packs
    #: in a process that does not serve workflow.
    remote_workflow_url: HttpUrl | None = None
    #: Signs the service tokens of internal calls; unset: derived from HUB_SECRET_KEY.
    service_key: (
        Annotated[
            str, Meta(min_length=32, extra={"secret": True, "rule": "at least 32 characters"})
        ]
        | None
    ) = None
    #: Longest wait for one attempt of a remote call (connect, send, answer).
    remote_timeout_ms: Annotated[int, Meta(ge=50, le=60_000)] = 2_000
    #: Retries of an idempotent remote call after a network failure or a 5xx (never a write).
    remote_retries: Annotated[int, Meta(ge=0, le=10)] = 2
    #: First backoff between retries (doubling, jittered, at most 2 s).
    remote_backoff_ms: Annotated[int, Meta(ge=1, le=10_000)] = 50
    #: Consecutive failed calls that open a remote context's circuit breaker.
    remote_breaker_failures: Annotated[int, Meta(ge=1, le=1000)] = 5
    #: Seconds an open breaker fails calls at once before one trial call.
    remote_breaker_reset_s: Annotated[int, Meta(ge=1, le=3600)] = 10
    #: Each context's own settings (``ContextModule.settings``), by context name. Not an
    #: environment variable: filled by :func:`load_settings` from the sections it is given.
    sections: dict[str, Any] = msgspec.field(default_factory=dict)

    def section(self, name: str) -> Any:
        """The settings of context ``name`` (loaded by ``hub.app.load_settings``)."""
        try:
            return self.sections[name]
        except KeyError:
            raise SettingsError(
                f"settings were loaded without the {name!r} section: "
                "use hub.app.load_settings(), which knows every context"
            ) from None

    def serves(self, context: str) -> bool:
        """Whether this process serves ``context`` (``HUB_CONTEXTS``; empty: every one)."""
        return not self.contexts or context in self.contexts

    def remote_url(self, context: str) -> str | None:
        """``HUB_REMOTE_<CONTEXT>_URL``: where ``context`` is served, when not here."""
        value = getattr(self, f"remote_{context}_url", None)
        return value if isinstance(value, str) else None

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed, each routed to the kernel or to the context
        section that declares it (tests use this to tighten a threshold)."""
        own = {k: v for k, v in changes.items() if k in _FIELDS and k != "sections"}
        sections = dict(self.sections)
        for key, value in changes.items():
            if key in own:
                continue
            owner = next(
                (n for n, sec in sections.items() if key in field_types(type(sec))),
                None,
            )
            if owner is None:
                raise SettingsError(f"unknown setting {_variable(key)}")
            sections[owner] = msgspec.structs.replace(sections[owner], **{key: value})
        return msgspec.structs.replace(self, **own, sections=sections)

    def rate_limit_quotas(self) -> dict[str, tuple[int, int]]:
        """Each rate-limit bucket's ``(requests, window seconds)``, from ``HUB_RATE_LIMIT_*``."""
        return {
            bucket: parse_quota(f"HUB_RATE_LIMIT_{bucket.upper()}", text)
            for bucket, text in (
                ("reads", self.rate_limit_reads),
                ("writes", self.rate_limit_writes),
                ("uploads", self.rate_limit_uploads),
                ("search", self.rate_limit_search),
                ("sends", self.rate_limit_sends),
                ("auth", self.rate_limit_auth),
            )
        }

    def smtp_providers(self) -> list[SmtpConfig]:
        """The SMTP providers in the order mail tries them: HUB_SMTP_URLS, else HUB_SMTP_URL
        alone; empty: the development mailbox."""
        if self.smtp_urls:
            return parse_smtp_urls(self.smtp_urls)
        return [parse_smtp_url(self.smtp_url)] if self.smtp_url else []

    @property
    def token_issuer(self) -> str:
        return self.jwt_issuer or self.public_url

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def uses_embedded_postgres(self) -> bool:
        return self.database_url is None

    @property
    def uses_embedded_redis(self) -> bool:
        return self.redis_url is None

    def check_production_safety(self) -> None:
        """Refuse development conveniences in production unless explicitly allowed."""
        if not self.is_production:
            return
        problems: list[str] = []
        if (self.uses_embedded_postgres or self.uses_embedded_redis) and not self.allow_embedded:
            problems.append(
                "HUB_DATABASE_URL and HUB_REDIS_URL must point at real servers in production "
                "(set HUB_ALLOW_EMBEDDED=1 to run the embedded servers anyway)"
            )
        if self.secret_key == DEFAULT_SECRET_KEY and not self.allow_insecure_defaults:
            problems.append(
                "HUB_SECRET_KEY is the development default; set a long random value "
                "(or HUB_ALLOW_INSECURE_DEFAULTS=1 for a throwaway deployment)"
            )
        if len(self.secret_key) < 32 and not self.allow_insecure_defaults:
            problems.append("HUB_SECRET_KEY must be at least 32 characters in production")
        if any(len(k) < 32 for k in self.secret_key_previous) and not self.allow_insecure_defaults:
            problems.append(
                "every HUB_SECRET_KEY_PREVIOUS key must be at least 32 characters in production"
            )
        if not self.smtp_providers() and not self.allow_insecure_defaults:
            # Without it, sign-up and password-reset links are written to the server's disk
            # (the dev mailbox) and never reach anyone.
            problems.append(
                "HUB_SMTP_URL must be set in production (or HUB_SMTP_URLS, several providers), "
                "or mail with account tokens is written to HUB_DATA_DIR/mail "
                "(or HUB_ALLOW_INSECURE_DEFAULTS=1)"
            )
        if problems:
            raise SettingsError("Refusing to start in production: " + "; ".join(problems))


# --------------------------------------------------------------------------- SMTP URL


class SmtpConfig(msgspec.Struct, frozen=True, kw_only=True):
    """``HUB_SMTP_URL`` parsed: how :class:`hub.kernel.mail.SmtpTransport` connects."""

    #: How the delivery log and the circuit breaker name this provider: ``?name=``, else
    #: ``host:port``.
    name: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    #: smtps://: TLS from the first byte.
    use_tls: bool = False
    #: smtp://: True (default) upgrades with STARTTLS and refuses a server that does not
    #: offer it, so a network attacker cannot strip it; False (``?starttls=0``) is clear text.
    start_tls: bool = True
    validate_certs: bool = True
    #: PEM file of the CA certificates to trust instead of the system store (``?cafile=``).
    ca_file: str | None = None
    timeout_s: float = 30.0


_SMTP_PARAMETERS = ("cafile", "name", "starttls", "timeout", "verify")
_PROVIDER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def parse_smtp_url(url: str) -> SmtpConfig:
    """``smtp://user:pass@host:587`` (STARTTLS required) / ``smtps://host:465``.

    Parameters: ``starttls=0`` (clear text, only for a relay on a trusted network),
    ``verify=0`` (no certificate check), ``cafile=/path/ca.pem`` (trust this CA instead of
    the system store), ``timeout=30`` (seconds), ``name=primary`` (the provider's name in
    the delivery log and its circuit breaker; default ``host:port``). Anything else is
    refused.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("HUB_SMTP_URL must be an smtp:// or smtps:// URL")
    if not parts.hostname:
        raise ValueError("HUB_SMTP_URL must be a URL with a host (smtp://user:pass@host:587)")
    if not _port_is_valid(parts):
        raise ValueError("HUB_SMTP_URL must be a URL with a port from 1 to 65535")
    query = {k: v[-1].strip() for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(query) - set(_SMTP_PARAMETERS))
    if unknown:
        raise ValueError(
            f"HUB_SMTP_URL must be a URL with only the parameters {', '.join(_SMTP_PARAMETERS)} "
            f"(unknown: {', '.join(unknown)})"
        )

    def flag(name: str, default: bool) -> bool:
        value = query.get(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ValueError(f"HUB_SMTP_URL must be a URL with {name}=1 or {name}=0")

    try:
        timeout = float(query.get("timeout", "30"))
    except ValueError:
        timeout = 0.0
    if not 0 < timeout <= 600:
        raise ValueError("HUB_SMTP_URL must be a URL with timeout= from 0 to 600 seconds")
    ca_file = query.get("cafile") or None
    if ca_file is not None and not Path(ca_file).is_file():
        raise ValueError("HUB_SMTP_URL must be a URL whose cafile= is an existing file")
    name = query.get("name")
    if name is not None and not _PROVIDER_NAME_RE.match(name):
        raise ValueError(
            "HUB_SMTP_URL must be a URL whose name= is 1-63 letters, digits, '.', '_' or '-'"
        )
    use_tls = parts.scheme == "smtps"
    port = parts.port or (465 if use_tls else 587)
    host = parts.hostname
    return SmtpConfig(
        name=name or (f"[{host}]:{port}" if ":" in host else f"{host}:{port}"),
        host=host,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=use_tls,
        start_tls=False if use_tls else flag("starttls", True),
        validate_certs=flag("verify", True),
        ca_file=ca_file,
        timeout_s=timeout,
    )


class SmtpUrlError(ValueError):
    """One entry of ``HUB_SMTP_URLS`` is bad; ``url`` is that entry (shown masked)."""

    def __init__(self, url: str, rule: str) -> None:
        super().__init__(rule)
        self.url = url


def parse_smtp_urls(urls: tuple[str, ...] | list[str]) -> list[SmtpConfig]:
    """``HUB_SMTP_URLS``: each entry as :func:`parse_smtp_url` reads it, in order; two
    entries may not share a name (``?name=``, else ``host:port``), since the name keys the
    provider's circuit breaker and its lines in the delivery log."""
    configs: list[SmtpConfig] = []
    for url in urls:
        try:
            config = parse_smtp_url(url)
        except ValueError as exc:
            rule = str(exc).removeprefix("HUB_SMTP_URL must be ")
            raise SmtpUrlError(url, f"a comma-separated list of SMTP URLs, each {rule}") from None
        if any(c.name == config.name for c in configs):
            raise SmtpUrlError(
                url,
                f"a comma-separated list of SMTP URLs naming each provider once (two are "
                f"{config.name!r}; tell them apart with ?name=)",
            )
        configs.append(config)
    return configs


# --------------------------------------------------------------------------- loading


_FIELD_TYPES: dict[type[Any], dict[str, mi.Type]] = {}


def field_types(cls: type[Any]) -> dict[str, mi.Type]:
    """The environment-backed fields of a settings struct (kernel or a context section)."""
    known = _FIELD_TYPES.get(cls)
    if known is None:
        known = _FIELD_TYPES[cls] = _field_types(cls)
    return known


def _field_types(cls: type[Any]) -> dict[str, mi.Type]:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return {f.name: f.type for f in info.fields if f.name != "sections"}


_FIELDS = field_types(Settings)


def _variable(name: str) -> str:
    return f"HUB_{name.upper()}"


def _strip_optional(t: mi.Type) -> tuple[mi.Type, bool]:
    """``X | None`` -> (X, True); anything else -> (t, False)."""
    if isinstance(t, mi.UnionType):
        rest = [m for m in t.types if not isinstance(m, mi.NoneType)]
        if len(rest) == 1 and len(rest) < len(t.types):
            return rest[0], True
    return t, False


def _strip_metadata(t: mi.Type) -> tuple[mi.Type, dict[str, Any]]:
    if isinstance(t, mi.Metadata):
        return t.type, dict(t.extra or {})
    return t, {}


def _describe(t: mi.Type) -> str:
    """The rule a field's type states, to complete "HUB_X must be …"."""
    inner, optional = _strip_optional(t)
    base, extra = _strip_metadata(inner)
    if "rule" in extra:
        text = str(extra["rule"])
    elif isinstance(base, mi.IntType):
        if base.ge is not None and base.le is not None:
            text = f"an integer from {base.ge} to {base.le}"
        elif base.ge is not None:
            text = f"an integer >= {base.ge}"
        else:
            text = "an integer"
    elif isinstance(base, mi.LiteralType):
        text = "one of " + ", ".join(str(v) for v in base.values)
    elif isinstance(base, mi.BoolType):
        text = "a boolean (1/0, true/false, yes/no, on/off)"
    elif isinstance(base, mi.StrType) and base.min_length:
        text = "a non-empty string"
    elif isinstance(base, mi.CustomType) and base.cls is Path:
        text = "a non-empty path"
    else:
        text = "valid"
    return f"{text}, or unset" if optional else text


#: ``scheme://user:`` then anything up to the last ``@``: masking too much beats leaking the
#: rest of a password that holds an unencoded ``@``.
_URL_PASSWORD_RE = re.compile(r"(://[^:/?#@]*:).*@")


def _shown(name: str, value: object, fields: Mapping[str, mi.Type] = _FIELDS) -> str:
    """The offending value for a message: URL passwords masked, secrets not at all."""
    _, extra = _strip_metadata(_strip_optional(fields[name])[0])
    if extra.get("secret"):
        return ""
    text = _URL_PASSWORD_RE.sub(r"\1***@", value if isinstance(value, str) else repr(value))
    return f" (got {text!r})"


def _coerce(name: str, raw: str, fields: Mapping[str, mi.Type] = _FIELDS) -> object:
    """Turn one environment string into the field's type; lists are comma-separated."""
    text = raw.strip()
    base, optional = _strip_optional(fields[name])
    base, _ = _strip_metadata(base)
    if optional and text == "":
        return None  # `HUB_SMTP_URL=` (as compose passes an unset variable) means unset
    if isinstance(base, mi.BoolType):
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise SettingsError(
            f"{_variable(name)} must be {_describe(base)}{_shown(name, raw, fields)}"
        )
    if isinstance(base, mi.VarTupleType):
        return tuple(part.strip() for part in text.split(",") if part.strip())
    return text


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    sections: Mapping[str, type[Any]] | None = None,
    **overrides: object,
) -> Settings:
    """Build :class:`Settings` from the environment (plus explicit overrides, used by tests).

    ``sections`` names each context's own settings struct (``ContextModule.settings``); they
    read ``HUB_*`` variables too, so no name may be declared twice. Overrides are routed to
    whichever struct declares them. A relative ``data_dir`` comes back absolute, anchored by
    :func:`anchor_data_dir`. Raises :class:`SettingsError` with one line naming the first
    bad variable.
    """
    env = os.environ if environ is None else environ
    sections = dict(sections or {})
    owners: dict[str, str] = dict.fromkeys(_FIELDS, "the kernel")
    for context, cls in sections.items():
        for name in field_types(cls):
            if name in owners:
                raise SettingsError(
                    f"{_variable(name)} is declared by both {owners[name]} and {context}"
                )
            owners[name] = context
    unknown = sorted(set(overrides) - set(owners))
    if unknown:
        raise SettingsError("unknown setting " + ", ".join(_variable(n) for n in unknown))
    own = {k: v for k, v in overrides.items() if owners[k] == "the kernel"}
    settings = load_struct(Settings, env, own)
    if "HUB_LOG_FORMAT" not in env and "log_format" not in own and settings.is_production:
        settings = msgspec.structs.replace(settings, log_format="json")
    _check_relations(settings)
    loaded: dict[str, Any] = {}
    for context, cls in sections.items():
        mine = {k: v for k, v in overrides.items() if owners[k] == context}
        section = load_struct(cls, env, mine)
        check = getattr(section, "check", None)
        if callable(check):
            check(settings)
        loaded[context] = section
    if not settings.data_dir.is_absolute():
        settings = msgspec.structs.replace(
            settings, data_dir=anchor_data_dir(settings.data_dir, Path.cwd())
        )
    return msgspec.structs.replace(settings, sections=loaded)


S = TypeVar("S")


def load_struct(cls: type[S], env: Mapping[str, str], overrides: Mapping[str, object]) -> S:
    """One settings struct from ``HUB_<FIELD>`` variables: types, ranges and each field's
    form rule checked, the first broken one reported as one line."""
    fields = field_types(cls)
    values: dict[str, object] = {}
    given: dict[str, object] = {}
    for name in fields:
        key = _variable(name)
        if key in env:
            given[name] = env[key]
            values[name] = _coerce(name, env[key], fields)
    values.update(overrides)
    given.update(overrides)
    try:
        loaded = msgspec.convert(values, cls, strict=False, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        raise SettingsError(_explain(str(exc), given, fields)) from None
    for name, field_type in fields.items():
        _, extra = _strip_metadata(_strip_optional(field_type)[0])
        value = getattr(loaded, name)
        if value is None or "check" not in extra:
            continue
        try:
            extra["check"](value)
        except _Broken as exc:
            got = given.get(name, value) if exc.got is None else exc.got
            rule = exc.rule or _describe(field_type)
            raise SettingsError(
                f"{_variable(name)} must be {rule}{_shown(name, got, fields)}"
            ) from None
    return loaded


def check_at_least(
    section: Any, larger: str, smaller: str, smaller_value: int | None = None
) -> None:
    """``HUB_<LARGER> >= HUB_<SMALLER>`` (the smaller may come from another struct)."""
    low = getattr(section, smaller) if smaller_value is None else smaller_value
    if getattr(section, larger) < low:
        raise SettingsError(
            f"{_variable(larger)} must be >= {_variable(smaller)} "
            f"(got {getattr(section, larger)} < {low})"
        )


def _check_relations(s: Settings) -> None:
    """Rules between two settings (a single field's rules sit on the field)."""
    check_at_least(s, "job_max_backoff_ms", "job_min_backoff_ms")
    if s.smtp_url and s.smtp_urls and s.smtp_urls[0] != s.smtp_url:
        # Two settings naming the primary differently: which one the operator meant is a
        # guess, so neither wins.
        raise SettingsError(
            "HUB_SMTP_URLS must start with HUB_SMTP_URL when both are set (or unset "
            f"HUB_SMTP_URL){_shown('smtp_urls', ','.join(s.smtp_urls))}"
        )


#: Files or directories only a hub data directory holds: the owner lock of the embedded
#: servers (written by every command that used them) and the development mailbox.
_DATA_DIR_MARKERS = (".owner.lock", "mail")


def anchor_data_dir(data_dir: Path, cwd: Path) -> Path:
    """The absolute data directory for a relative ``HUB_DATA_DIR`` seen from ``cwd``.

    Relative to the nearest directory, from ``cwd`` upwards, that already holds that data
    directory (it contains ``.owner.lock`` or ``mail/``) or is a checkout of this project
    (a ``pyproject.toml`` naming the project ``hub``); else relative to ``cwd``. So a
    command run from a subdirectory uses the project's data (``<checkout>/.hub``) instead
    of silently initialising a second, empty cluster there.
    """
    data_dir = data_dir.expanduser()
    if data_dir.is_absolute():
        return data_dir
    for directory in (cwd, *cwd.parents):
        candidate = directory / data_dir
        if any((candidate / marker).exists() for marker in _DATA_DIR_MARKERS):
            return candidate
        if _is_hub_checkout(directory):
            return candidate
    return cwd / data_dir


def _is_hub_checkout(directory: Path) -> bool:
    try:
        project = tomllib.loads((directory / "pyproject.toml").read_text()).get("project")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return isinstance(project, dict) and project.get("name") == "hub"


def _dec_hook(type_: type, value: object) -> object:
    if type_ is Path and isinstance(value, str | os.PathLike):
        if value == "":
            raise ValueError("empty path")
        return Path(value)
    raise NotImplementedError(f"cannot convert {type(value).__name__} to {type_}")


_PATH_RE = re.compile(r"`\$\.([a-z0-9_]+)")


def _explain(
    message: str, given: Mapping[str, object], fields: Mapping[str, mi.Type] = _FIELDS
) -> str:
    """Rewrite msgspec's "Expected … - at `$.field`" into the variable's name and rule."""
    match = _PATH_RE.search(message)
    if match is None or match.group(1) not in fields:
        return message
    name = match.group(1)
    shown = _shown(name, given[name], fields) if name in given else ""
    return f"{_variable(name)} must be {_describe(fields[name])}{shown}"


@contextlib.contextmanager
def exit_on_settings_error() -> Iterator[None]:
    """For a process entry point (uvicorn's ``--factory``): a bad setting ends the process.

    The message is one line on stderr, no traceback. The status is 3, uvicorn's "startup
    failure", so its ``--workers`` supervisor stops instead of restarting a worker that can
    only fail the same way.
    """
    try:
        yield
    except SettingsError as exc:
        sys.stderr.write(f"hub: {exc}\n")
        sys.stderr.flush()
        raise SystemExit(3) from None
