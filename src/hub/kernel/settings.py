"""Typed settings read from ``HUB_*`` environment variables.

Validated once at start so a bad deployment fails before it serves a request, and so a
production start can refuse the development conveniences (embedded servers, default
secrets) with a message that names the setting to change.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec

Environment = Literal["development", "test", "production"]

#: The development secret. Production refuses to start with it.
DEFAULT_SECRET_KEY = "hub-development-secret-do-not-use-in-production"  # noqa: S105


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    """Every ``HUB_*`` setting. The README's configuration table mirrors this class."""

    env: Environment = "development"
    data_dir: Path = Path(".hub")
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: str = DEFAULT_SECRET_KEY
    allow_embedded: bool = False
    allow_insecure_defaults: bool = False
    public_url: str = "http://127.0.0.1:8000"
    cors_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "[::1]", "testserver.local")
    trusted_proxies: tuple[str, ...] = ()
    max_body_bytes: int = 10 * 1024 * 1024
    log_level: str = "INFO"
    log_format: Literal["console", "json"] = "console"
    db_pool_size: int = 10
    #: 0: overflow connections are closed on return, so under load a pool with overflow
    #: kept reconnecting (40-60 new PostgreSQL sessions per 1,000 requests measured).
    db_max_overflow: int = 0
    db_echo: bool = False
    migrations_dir: Path | None = None
    worker_processes: int = 1
    worker_threads: int = 4
    job_max_retries: int = 5
    job_min_backoff_ms: int = 1_000
    job_max_backoff_ms: int = 300_000
    job_time_limit_ms: int = 600_000
    #: A worker silent this long is presumed dead and its unacked jobs run again.
    job_heartbeat_timeout_ms: int = 60_000
    #: Out of a million broker commands, how many also run queue maintenance.
    job_maintenance_chance: int = 1_000
    job_dead_message_ttl_ms: int = 7 * 86_400_000
    #: Longest pause of an idle worker between two polls of a queue.
    worker_idle_poll_ms: int = 200
    #: Serve the worker's Prometheus metrics on this port (``hub worker``); unset: off.
    worker_metrics_port: int | None = None
    relay_batch_size: int = 500
    #: Most events of one subscriber carried (and handled in one transaction) per message.
    event_run_size: int = 50
    relay_sweep_interval_ms: int = 1_000
    #: Under a stream of commits, wait this long after a wake-up for more to batch with it.
    relay_coalesce_ms: int = 20
    outbox_retention_days: int = 7
    inbox_retention_days: int = 30
    smtp_url: str | None = None
    mail_from: str = "Hub <no-reply@localhost>"
    # Identity: tokens and sessions (docs/identity.md explains each choice).
    jwt_issuer: str = ""  # empty: public_url
    jwt_audience: str = "hub-api"
    jwt_leeway_seconds: int = 10
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    refresh_grace_seconds: int = 10
    signing_key_cache_seconds: int = 60
    mfa_challenge_ttl_seconds: int = 300
    email_verification_ttl_seconds: int = 48 * 3600
    password_reset_ttl_seconds: int = 3600
    recent_auth_seconds: int = 600
    # Identity: argon2id cost (OWASP: t=2, m=19 MiB, p=1) and brute-force protection.
    password_hash_time_cost: int = 2
    password_hash_memory_kib: int = 19 * 1024
    password_hash_parallelism: int = 1
    lockout_threshold: int = 10
    mfa_lockout_threshold: int = 5
    ip_lockout_threshold: int = 100
    lockout_window_seconds: int = 900
    lockout_base_seconds: int = 60
    lockout_max_seconds: int = 900
    lockout_reset_seconds: int = 12 * 3600
    #: How long revoked sessions and expired invitations are kept before housekeeping
    #: deletes them (identity.prune_expired, hourly).
    identity_history_days: int = 90
    # Identity: organisations, invitations, API keys, idempotent writes.
    invitation_ttl_seconds: int = 7 * 86400
    #: last_used_at of an API key is written at most this often (a write per request is waste).
    api_key_touch_seconds: int = 60
    #: How long an Idempotency-Key is remembered (its first response replayed).
    idempotency_ttl_seconds: int = 86400
    # Rate limits (kernel.ratelimit; README "Rate limits"). Quotas read "<requests>/<seconds>"
    # per caller (user or API key); each client address gets the same quota times the factor.
    rate_limit_enabled: bool = True
    rate_limit_reads: str = "1200/60"
    rate_limit_writes: str = "300/60"
    rate_limit_uploads: str = "60/60"
    rate_limit_search: str = "120/60"
    rate_limit_sends: str = "60/60"
    #: An address may carry several users (an office behind NAT): its quota is the caller's
    #: times this factor, for every bucket.
    rate_limit_address_factor: int = 4

    def rate_limit_quotas(self) -> dict[str, tuple[int, int]]:
        """Each rate-limit bucket's ``(requests, window seconds)``, from ``HUB_RATE_LIMIT_*``.

        Raises :class:`SettingsError` naming the variable when a quota is malformed.
        """
        if self.rate_limit_address_factor < 1:
            raise SettingsError("HUB_RATE_LIMIT_ADDRESS_FACTOR must be a whole number >= 1")
        return {
            bucket: parse_quota(f"HUB_RATE_LIMIT_{bucket.upper()}", text)
            for bucket, text in (
                ("reads", self.rate_limit_reads),
                ("writes", self.rate_limit_writes),
                ("uploads", self.rate_limit_uploads),
                ("search", self.rate_limit_search),
                ("sends", self.rate_limit_sends),
            )
        }

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
        if problems:
            raise SettingsError("Refusing to start in production: " + "; ".join(problems))


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


_BOOL_TRUE = {"1", "true", "yes", "on"}
_BOOL_FALSE = {"0", "false", "no", "off", ""}


def _coerce(name: str, raw: str, annotation: object) -> object:
    """Turn one environment string into the field's type; tuples are comma-separated."""
    text = raw.strip()
    if annotation in (bool, "bool"):
        low = text.lower()
        if low in _BOOL_TRUE:
            return True
        if low in _BOOL_FALSE:
            return False
        raise SettingsError(f"HUB_{name.upper()} must be a boolean (1/0, true/false), got {raw!r}")
    if annotation in (tuple[str, ...], "tuple[str, ...]"):
        return tuple(part.strip() for part in text.split(",") if part.strip())
    return text


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build :class:`Settings` from the environment (plus explicit overrides, used by tests)."""
    env = os.environ if environ is None else environ
    hints = {f.name: f.type for f in msgspec.structs.fields(Settings)}
    values: dict[str, object] = {}
    for name, annotation in hints.items():
        key = f"HUB_{name.upper()}"
        if key in env:
            values[name] = _coerce(name, env[key], annotation)
    if "HUB_LOG_FORMAT" not in env and values.get("env") == "production":
        values["log_format"] = "json"
    values.update(overrides)
    try:
        settings = msgspec.convert(values, Settings, strict=False, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        raise SettingsError(_explain(str(exc))) from None
    if settings.max_body_bytes <= 0:
        raise SettingsError("HUB_MAX_BODY_BYTES must be a positive number of bytes")
    if settings.db_pool_size <= 0:
        raise SettingsError("HUB_DB_POOL_SIZE must be positive")
    settings.rate_limit_quotas()  # a malformed quota stops the start, naming its variable
    return settings


def _dec_hook(type_: type, value: object) -> object:
    if type_ is Path and isinstance(value, str | os.PathLike):
        return Path(value)
    raise NotImplementedError(f"cannot convert {type(value).__name__} to {type_}")


def _explain(message: str) -> str:
    """Rewrite msgspec's ``at `$.field``` into the environment variable's name."""
    if "`$." in message:
        head, _, rest = message.partition("`$.")
        field = rest.split("`", 1)[0].split("[", 1)[0]
        return f"HUB_{field.upper()}: {head.strip(' -')}"
    return message
