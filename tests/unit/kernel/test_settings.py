"""Settings come from HUB_* variables, are validated at start, and production is strict."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from hub.app import context_modules, load_settings
from hub.kernel.settings import (
    DEFAULT_SECRET_KEY,
    Settings,
    SettingsError,
    anchor_data_dir,
    field_types,
)

STRONG = "x" * 40
ROOT = Path(__file__).resolve().parents[3]


def test_defaults_are_a_working_development_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT / "src" / "hub")
    s = load_settings(environ={})
    assert s.env == "development"
    # .hub of the checkout, whichever subdirectory the command runs from
    assert s.data_dir == ROOT / ".hub"
    assert s.database_url is None
    assert s.redis_url is None
    assert s.max_body_bytes == 10 * 1024 * 1024
    assert s.log_format == "console"
    s.check_production_safety()  # development never refuses


def test_environment_values_are_parsed_and_typed() -> None:
    s = load_settings(
        environ={
            "HUB_MAX_BODY_BYTES": "2048",
            "HUB_CORS_ORIGINS": "https://a.example, https://b.example",
            "HUB_ALLOW_EMBEDDED": "yes",
            "HUB_DATA_DIR": "/srv/hub",
            "UNRELATED": "ignored",
        }
    )
    assert s.max_body_bytes == 2048
    assert s.cors_origins == ("https://a.example", "https://b.example")
    assert s.allow_embedded is True
    assert s.data_dir == Path("/srv/hub")


def _checkout(root: Path, name: str = "hub") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "0"\n')
    return root


def test_a_relative_data_dir_is_anchored_to_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = _checkout(tmp_path / "hub")
    _checkout(checkout / "vendor" / "lib", name="lib")  # another project's pyproject
    deep = checkout / "vendor" / "lib" / "src"
    deep.mkdir()
    assert anchor_data_dir(Path(".hub"), deep) == checkout / ".hub"
    assert anchor_data_dir(Path("var/data"), deep) == checkout / "var" / "data"
    assert anchor_data_dir(Path(".hub"), checkout) == checkout / ".hub"

    monkeypatch.chdir(deep)
    assert load_settings(environ={}).data_dir == checkout / ".hub"
    assert load_settings(environ={"HUB_DATA_DIR": "state"}).data_dir == checkout / "state"
    assert load_settings(environ={"HUB_DATA_DIR": "/srv/hub"}).data_dir == Path("/srv/hub")


def test_an_existing_data_dir_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    project = tmp_path / "installed"  # no checkout: hub installed with pip
    (project / "docs" / "drafts").mkdir(parents=True)
    data = Path(f".hub-{tmp_path.name}")  # no ancestor of tmp_path holds one by that name
    assert anchor_data_dir(data, project / "docs") == project / "docs" / data
    (project / data).mkdir()
    (project / data / ".owner.lock").touch()  # written by the first command that ran here
    assert anchor_data_dir(data, project / "docs" / "drafts") == project / data
    mail_only = tmp_path / "mailonly"
    (mail_only / "data" / "mail").mkdir(parents=True)
    (mail_only / "sub").mkdir()
    assert anchor_data_dir(Path("data"), mail_only / "sub") == mail_only / "data"


def test_without_checkout_or_data_dir_the_current_directory_anchors(tmp_path: Path) -> None:
    # a name no ancestor of tmp_path can hold, so the walk up finds nothing
    name = Path(f"hub-data-{tmp_path.name}-unused")
    assert anchor_data_dir(name, tmp_path) == tmp_path / name
    assert anchor_data_dir(Path("/abs/hub"), tmp_path) == Path("/abs/hub")
    assert anchor_data_dir(Path("~/hub"), tmp_path) == Path.home() / "hub"


@pytest.mark.parametrize(
    ("environ", "names"),
    [
        ({"HUB_MAX_BODY_BYTES": "ten"}, "HUB_MAX_BODY_BYTES"),
        ({"HUB_MAX_BODY_BYTES": "0"}, "HUB_MAX_BODY_BYTES"),
        ({"HUB_ENV": "staging"}, "HUB_ENV"),
        ({"HUB_ALLOW_EMBEDDED": "maybe"}, "HUB_ALLOW_EMBEDDED"),
        ({"HUB_LOG_FORMAT": "xml"}, "HUB_LOG_FORMAT"),
    ],
)
def test_invalid_values_name_the_variable(environ: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError, match=names):
        load_settings(environ=environ)


def test_production_refuses_embedded_servers_and_default_secret() -> None:
    s = load_settings(environ={"HUB_ENV": "production"})
    assert s.log_format == "json"
    with pytest.raises(SettingsError) as err:
        s.check_production_safety()
    message = str(err.value)
    assert "HUB_DATABASE_URL" in message
    assert "HUB_ALLOW_EMBEDDED" in message
    assert "HUB_SECRET_KEY" in message


def test_production_accepts_real_servers_and_a_strong_secret() -> None:
    s = load_settings(
        environ={
            "HUB_ENV": "production",
            "HUB_DATABASE_URL": "postgresql://db/hub",
            "HUB_REDIS_URL": "redis://cache:6379/0",
            "HUB_SECRET_KEY": STRONG,
            "HUB_SMTP_URL": "smtps://hub:pw@mail.example:465",
        }
    )
    s.check_production_safety()


def test_production_explicit_overrides_are_honoured() -> None:
    s = load_settings(
        environ={
            "HUB_ENV": "production",
            "HUB_ALLOW_EMBEDDED": "1",
            "HUB_SECRET_KEY": DEFAULT_SECRET_KEY,
            "HUB_ALLOW_INSECURE_DEFAULTS": "1",
        }
    )
    s.check_production_safety()


def test_short_secret_is_refused_in_production() -> None:
    s = load_settings(
        environ={
            "HUB_ENV": "production",
            "HUB_DATABASE_URL": "postgresql://db/hub",
            "HUB_REDIS_URL": "redis://cache",
            "HUB_SECRET_KEY": "short",
        }
    )
    with pytest.raises(SettingsError, match="at least 32"):
        s.check_production_safety()


def test_production_refuses_to_write_mail_to_disk() -> None:
    """Without HUB_SMTP_URL sign-up and reset links would land in HUB_DATA_DIR/mail."""
    production = {
        "HUB_ENV": "production",
        "HUB_DATABASE_URL": "postgresql://db/hub",
        "HUB_REDIS_URL": "redis://cache",
        "HUB_SECRET_KEY": STRONG,
        "HUB_SMTP_URL": "",  # compose passes an unset variable as empty: still unset
    }
    s = load_settings(environ=production)
    assert s.smtp_url is None
    with pytest.raises(SettingsError) as err:
        s.check_production_safety()
    assert "HUB_SMTP_URL" in str(err.value)
    assert "HUB_SECRET_KEY" not in str(err.value)
    load_settings(
        environ={**production, "HUB_ALLOW_INSECURE_DEFAULTS": "1"}
    ).check_production_safety()


#: Every setting with values it refuses (the raw environment strings).
INVALID: dict[str, list[str]] = {
    "HUB_WORKFLOW_TIMER_POLL_MS": ["0", "1001", "fast"],
    "HUB_WORKFLOW_TIMER_FIRERS": ["0", "33"],
    "HUB_ENV": ["staging", ""],
    "HUB_DATA_DIR": [""],
    "HUB_DATABASE_URL": [
        "garbage",
        "mysql://hub:pw@db/hub",
        "http://db/hub",
        "postgresql://",
        "postgresql:///hub",
        "postgresql://db:99999/hub",
    ],
    "HUB_REDIS_URL": ["garbage", "http://cache", "redis://", "redis://cache/abc", "unix://"],
    "HUB_SECRET_KEY": [""],
    "HUB_ALLOW_EMBEDDED": ["maybe"],
    "HUB_ALLOW_INSECURE_DEFAULTS": ["2"],
    "HUB_PUBLIC_URL": ["hub.example.com", "ftp://hub.example", "https://", "https://h/?a=1"],
    "HUB_CORS_ORIGINS": [
        "not a url",
        "https://a.example/",
        "https://a.example/app",
        "a.example",
        "https://a.example:99999",
        "https://user@a.example",
    ],
    "HUB_ALLOWED_HOSTS": ["", "example.com:8000", "https://example.com", "bad host", "[::1"],
    "HUB_TRUSTED_PROXIES": ["proxy.example", "10.0.0.0/33", "300.1.1.1"],
    "HUB_MAX_BODY_BYTES": ["ten", "0", "-1", "1.5"],
    "HUB_LOG_LEVEL": ["LOUD", "", "10"],
    "HUB_LOG_FORMAT": ["xml"],
    "HUB_DB_POOL_SIZE": ["abc", "0", "1001"],
    "HUB_DB_MAX_OVERFLOW": ["-1", "many"],
    "HUB_DB_ECHO": ["loud"],
    "HUB_DB_TIMEOUT_MS": ["0", "99", "3600001", "10s"],
    "HUB_REDIS_TIMEOUT_MS": ["0", "99", "600001", "2s"],
    "HUB_MIGRATIONS_DIR": ["/nonexistent/migrations"],
    "HUB_WORKER_PROCESSES": ["0", "257"],
    "HUB_WORKER_THREADS": ["0", "x"],
    "HUB_JOB_MAX_RETRIES": ["-1", "1001"],
    "HUB_JOB_MIN_BACKOFF_MS": ["0"],
    "HUB_JOB_MAX_BACKOFF_MS": ["0", "999"],  # below HUB_JOB_MIN_BACKOFF_MS (1000)
    "HUB_JOB_TIME_LIMIT_MS": ["999"],
    "HUB_JOB_HEARTBEAT_TIMEOUT_MS": ["0", "999"],
    "HUB_JOB_MAINTENANCE_CHANCE": ["0", "1000001"],
    "HUB_JOB_DEAD_MESSAGE_TTL_MS": ["0"],
    "HUB_WORKER_IDLE_POLL_MS": ["0", "60001"],
    "HUB_WORKER_METRICS_PORT": ["0", "65536", "http"],
    "HUB_RELAY_BATCH_SIZE": ["0", "100001"],
    "HUB_EVENT_RUN_SIZE": ["0"],
    "HUB_RELAY_SWEEP_INTERVAL_MS": ["0"],
    "HUB_RELAY_COALESCE_MS": ["-1", "10001"],
    "HUB_OUTBOX_RETENTION_DAYS": ["0"],
    "HUB_INBOX_RETENTION_DAYS": ["0"],
    "HUB_SMTP_URL": [
        "http://mail.example",
        "smtp://",
        "smtp://mail.example:0",
        "smtp://mail.example?tls=none",
        "smtp://mail.example?starttls=maybe",
        "smtp://mail.example?timeout=0",
        "smtps://mail.example?cafile=/nonexistent/ca.pem",
    ],
    "HUB_SMTP_URLS": [
        "http://mail.example",
        "smtp://a.example,smtp://",
        "smtp://a.example, smtp://b.example:0",
        "smtp://a.example,smtp://b.example?tls=none",
        "smtps://a.example?timeout=0",
        "smtp://a.example?name=bad name",
        "smtp://a.example?name=-x",
        "smtp://a.example,smtp://a.example",  # the same provider twice
        "smtp://a.example?name=one,smtp://b.example?name=one",  # two named alike
        "smtp://u:pw,with-comma@a.example",  # an unencoded comma splits the URL
    ],
    "HUB_SMTP_BREAKER_FAILURES": ["0", "1001", "five"],
    "HUB_SMTP_BREAKER_RESET_S": ["0", "86401", "1m"],
    "HUB_MAIL_FROM": ["nobody", "", "Hub <no-reply>"],
    "HUB_JWT_ISSUER": ["https://hub example"],
    "HUB_JWT_AUDIENCE": ["", "hub api"],
    "HUB_JWT_LEEWAY_SECONDS": ["-1", "301"],
    "HUB_VERIFIED_TOKENS_KEPT": ["-1", "1000001", "many"],
    "HUB_ACCESS_TOKEN_TTL_SECONDS": ["0", "-5", "59", "86401", "15m"],
    "HUB_REFRESH_TOKEN_TTL_SECONDS": ["0", "600"],  # below the access-token TTL (900)
    "HUB_REFRESH_GRACE_SECONDS": ["-1", "301"],
    "HUB_SIGNING_KEY_CACHE_SECONDS": ["-1", "3601"],
    "HUB_MFA_CHALLENGE_TTL_SECONDS": ["29", "3601"],
    "HUB_EMAIL_VERIFICATION_TTL_SECONDS": ["59"],
    "HUB_PASSWORD_RESET_TTL_SECONDS": ["0"],
    "HUB_RECENT_AUTH_SECONDS": ["0"],
    # below the access-token TTL (900); above the maximum age (30 d)
    "HUB_SESSION_IDLE_TIMEOUT_SECONDS": ["59", "600", "2592001", "1h"],
    "HUB_SESSION_MAX_AGE_SECONDS": ["0", "299", "3600"],  # 3600: below the idle timeout
    "HUB_WEBAUTHN_RP_ID": [
        "https://hub.example",
        "hub.example:443",
        "Hub.Example",
        "127.0.0.1",
        "bad host",
        "hub.example",  # the derived origin (HUB_PUBLIC_URL, 127.0.0.1) is not within it
    ],
    "HUB_WEBAUTHN_RP_NAME": [""],
    "HUB_WEBAUTHN_ORIGINS": [
        "hub.example",
        "https://hub.example/app",
        "*",
        "http://hub.example",  # plain http only on localhost
        "https://127.0.0.1",
        "https://a.example,https://b.example",  # b is outside the RP id (a.example)
    ],
    "HUB_WEBAUTHN_CHALLENGE_TTL_SECONDS": ["29", "601", "5m"],
    "HUB_OIDC_STATE_TTL_SECONDS": ["59", "1801", "10m"],
    "HUB_OIDC_LINK_TTL_SECONDS": ["59", "3601", "x"],
    "HUB_OIDC_ALLOW_PRIVATE_NETWORKS": ["localhost", "10.0.0.0/33"],
    "HUB_SSO_VERIFIED_DOMAINS_ONLY": ["maybe", "2"],
    "HUB_SIGN_IN_ALERTS": ["maybe", "2"],
    "HUB_DNS_NAMESERVERS": ["dns.example", "10.0.0.0/8", "1.1.1.1:53"],
    "HUB_DNS_PORT": ["0", "65536", "dns"],
    "HUB_DNS_TIMEOUT_SECONDS": ["0", "31", "3s"],
    "HUB_PASSWORD_HASH_TIME_COST": ["0", "101"],
    "HUB_PASSWORD_HASH_MEMORY_KIB": ["7", "4194305"],
    "HUB_PASSWORD_HASH_PARALLELISM": ["0", "256", "4000"],  # 4000 lanes need 32000 KiB
    "HUB_LOCKOUT_THRESHOLD": ["0"],
    "HUB_MFA_LOCKOUT_THRESHOLD": ["0"],
    "HUB_IP_LOCKOUT_THRESHOLD": ["0"],
    "HUB_LOCKOUT_WINDOW_SECONDS": ["0"],
    "HUB_LOCKOUT_BASE_SECONDS": ["0", "901"],  # above HUB_LOCKOUT_MAX_SECONDS (900)
    "HUB_LOCKOUT_MAX_SECONDS": ["0", "59"],  # below HUB_LOCKOUT_BASE_SECONDS (60)
    "HUB_LOCKOUT_RESET_SECONDS": ["0"],
    "HUB_IDENTITY_HISTORY_DAYS": ["0"],
    "HUB_ORG_DELETION_GRACE_DAYS": ["0", "3651", "soon"],
    "HUB_INVITATION_TTL_SECONDS": ["59"],
    "HUB_API_KEY_TOUCH_SECONDS": ["-1"],
    "HUB_MEMBERSHIP_CACHE_SECONDS": ["-1", "86401", "5m"],
    "HUB_IDEMPOTENCY_TTL_SECONDS": ["59"],
    "HUB_EMAIL_CHANGE_UNDO_TTL_SECONDS": ["-1", "soon"],
    "HUB_SECRET_KEY_PREVIOUS": ["short", f"{'y' * 40},tiny"],
    "HUB_RATE_LIMIT_ENABLED": ["sometimes"],
    "HUB_RATE_LIMIT_READS": ["600", "0/60", "ten/60", "600/0"],
    "HUB_RATE_LIMIT_WRITES": ["300 per minute"],
    "HUB_RATE_LIMIT_UPLOADS": ["/60"],
    "HUB_RATE_LIMIT_SEARCH": ["-1/60"],
    "HUB_RATE_LIMIT_SENDS": ["60/"],
    "HUB_RATE_LIMIT_AUTH": ["5", "5/0", "0/60", "five/60"],
    "HUB_RATE_LIMIT_MAIL_PER_ADDRESS": ["5", "0/3600", "5/hour"],
    "HUB_RATE_LIMIT_INVITATIONS_PER_ORG": ["100", "100/0", "-1/3600"],
    "HUB_RATE_LIMIT_ADDRESS_FACTOR": ["0", "x"],
    "HUB_FRONTEND_URL": ["app.example.com", "https://app.example.com/?next=1", "ftp://a.b"],
    "HUB_STORAGE_URL": [
        "garbage",
        "/srv/blobs",
        "file://relative/path",
        "s3://Bad_Bucket",
        "s3://bucket?acl=private",
        "s3://bucket?access_key=AK",
        "s3://bucket?endpoint=minio:9000",
    ],
    "HUB_MAX_UPLOAD_BYTES": ["0", "-1", "100MB"],
    "HUB_CONTENT_ALLOWED_MEDIA_TYPES": ["", "pdf", "text/plain,<html>", "*/pdf"],
    "HUB_CONTENT_TRASH_DAYS": ["0", "36501", "a month"],
    "HUB_AUDIT_RETENTION_DAYS": ["-1", "36501", "seven years"],
    "HUB_CONTENT_QUOTA_BYTES": ["-1", "10GiB"],
    "HUB_CONTENT_BULK_DOWNLOAD_MAX_BYTES": ["0", "-1", "2GiB"],
    "HUB_CONTENT_EXTRACTION_TIMEOUT_SECONDS": ["0", "3601", "1m", "590"],
    "HUB_CONTENT_EXTRACTION_MEMORY_MB": ["127", "65537", "512MB"],
    "HUB_CONTENT_OCR_LANGUAGES": ["", "eng fra", "eng+", "ENG", "eng,fra"],
    "HUB_NOTIFICATION_BATCH_SIZE": ["0", "1001", "many"],
    "HUB_NOTIFICATION_MAX_RECIPIENTS": ["0", "1000001", "all"],
    "HUB_NOTIFICATION_STREAM_MAX_SECONDS": ["0", "3601", "5m"],
    "HUB_NOTIFICATION_CHANNEL_ALLOWED_NETWORKS": ["10.0.0.0/33", "localhost", "127.0.0.1/8;"],
    "HUB_NOTIFICATION_READ_RETENTION_DAYS": ["0", "36501", "90d"],
    "HUB_NOTIFICATION_ARCHIVED_RETENTION_DAYS": ["0", "36501", "-1"],
    "HUB_NOTIFICATION_HISTORY_DAYS": ["-1", "36501", "1y"],
    "HUB_STREAM_HEARTBEAT_S": ["0", "301", "soon"],
    "HUB_STREAM_REPLAY_S": ["9", "86401", "10m"],
    "HUB_CONVERSATION_UNREAD_NOTICE_MINUTES": ["0", "10081", "10m"],
    "HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS": ["localhost", "10.0.0.0/33", "127.0.0.1, 300.1.1.1"],
    "HUB_WEBHOOK_SECRET_OVERLAP_HOURS": ["-1", "721", "1d"],
    "HUB_WEBHOOK_TIMEOUT_SECONDS": ["0", "61", "15s"],
    "HUB_WEBPUSH_SUBJECT": ["ops@example.com", "http://hub.example", "mailto:", "mailto:a b"],
    "HUB_WEBPUSH_ALLOWED_NETWORKS": ["10.0.0.0/33", "localhost"],
    "HUB_WEBPUSH_TTL_SECONDS": ["-1", "2419201", "1d"],
    "HUB_CONTENT_MAIL_POLL_MINUTES": ["0", "1441", "10m"],
    "HUB_CONTENT_MAIL_ALLOWED_NETWORKS": ["10.0.0.0/33", "localhost"],
    "HUB_CONTENT_CONSUME_DIR": ["/no/such/directory", "/etc/hostname"],
    "HUB_CONTENT_CONSUME_SETTLE_SECONDS": ["-1", "3601", "10s"],
    "HUB_CONTENT_BARCODE_PAGES": ["-1", "101", "two"],
    "HUB_CONTENT_BARCODE_ASN_PREFIX": ["A SN", "x" * 17, "ASN/"],
    "HUB_CONTENT_BARCODE_TAG_PREFIX": ["tag prefix", "t/", "é"],
    "HUB_CONTEXTS": ["billing", "identity,Content", "identity,identity", "identity;content"],
    "HUB_REMOTE_IDENTITY_URL": [
        "identity:8000",
        "ftp://identity",
        "http://identity:8000/?x=1",
        "http://127.0.0.1:9000",  # while this process serves identity (every context)
    ],
    "HUB_REMOTE_CONTENT_URL": ["content", "http://content:99999"],
    "HUB_REMOTE_COMMUNICATION_URL": ["http://", "https://user:pw@communication"],
    "HUB_REMOTE_WORKFLOW_URL": ["ftp://workflow", "https://user:pw@workflow"],
    "HUB_SERVICE_KEY": ["short", "x" * 31],
    "HUB_REMOTE_TIMEOUT_MS": ["49", "60001", "2s"],
    "HUB_REMOTE_RETRIES": ["-1", "11", "twice"],
    "HUB_REMOTE_BACKOFF_MS": ["0", "10001"],
    "HUB_REMOTE_BREAKER_FAILURES": ["0", "1001", "five"],
    "HUB_REMOTE_BREAKER_RESET_S": ["0", "3601", "10s"],
}


def test_every_setting_has_invalid_forms_listed() -> None:
    """A new setting must come with its rule (and a case below that breaks it)."""
    variables = {f"HUB_{name.upper()}" for name in all_setting_names()}
    assert set(INVALID) == variables


def all_setting_names() -> set[str]:
    """The kernel's settings and every context's section."""
    names = set(field_types(Settings))
    for module in context_modules():
        if module.settings is not None:
            names |= set(field_types(module.settings))
    return names


@pytest.mark.parametrize(
    ("variable", "value"),
    [(variable, value) for variable, values in INVALID.items() for value in values],
)
def test_an_invalid_value_is_one_line_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={variable: value})
    message = str(err.value)
    # A rule between two settings (minimum <= maximum) names both.
    assert message.startswith(variable + " must be ") or (
        message.startswith("HUB_") and " must be >= " in message and variable in message
    ), message
    assert "\n" not in message
    assert " - at" not in message  # msgspec's own path notation is translated
    if variable not in ("HUB_SECRET_KEY", "HUB_SECRET_KEY_PREVIOUS", "HUB_SERVICE_KEY"):
        assert " (got " in message, message


def test_error_messages_never_show_secrets() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"HUB_DATABASE_URL": "mysql://hub:s3cret-pw@db/hub"})
    assert "s3cret-pw" not in str(err.value)
    assert "mysql://hub:***@db/hub" in str(err.value)
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"HUB_SMTP_URL": "smtp://hub:s3cret-pw@mail.example?tls=none"})
    assert "s3cret-pw" not in str(err.value)
    with pytest.raises(SettingsError) as err:  # an unencoded @ in the password
        load_settings(environ={"HUB_REDIS_URL": "http://:pa@ss@cache/0"})
    assert "ss@" not in str(err.value)
    assert "(got 'http://:***@cache/0')" in str(err.value)
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"HUB_SECRET_KEY": ""})
    assert str(err.value) == "HUB_SECRET_KEY must be a non-empty string"


def test_messages_state_the_rule() -> None:
    cases = {
        "HUB_ACCESS_TOKEN_TTL_SECONDS": (
            "-5",
            "HUB_ACCESS_TOKEN_TTL_SECONDS must be an integer from 60 to 86400 (got '-5')",
        ),
        "HUB_DB_POOL_SIZE": (
            "abc",
            "HUB_DB_POOL_SIZE must be an integer from 1 to 1000 (got 'abc')",
        ),
        "HUB_LOG_LEVEL": (
            "LOUD",
            "HUB_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case) "
            "(got 'LOUD')",
        ),
        "HUB_CORS_ORIGINS": (
            "https://a.example, not a url",
            "HUB_CORS_ORIGINS must be a comma-separated list of origins, each "
            "scheme://host[:port] or '*' (got 'not a url')",
        ),
        "HUB_SMTP_URL": (
            "smtp://mail.example?tls=none",
            "HUB_SMTP_URL must be a URL with only the parameters cafile, name, starttls, "
            "timeout, verify (unknown: tls) (got 'smtp://mail.example?tls=none')",
        ),
        "HUB_JOB_MAX_BACKOFF_MS": (
            "500",
            "HUB_JOB_MAX_BACKOFF_MS must be >= HUB_JOB_MIN_BACKOFF_MS (got 500 < 1000)",
        ),
    }
    for variable, (value, expected) in cases.items():
        with pytest.raises(SettingsError) as err:
            load_settings(environ={variable: value})
        assert str(err.value) == expected


def test_valid_forms_are_accepted() -> None:
    s = load_settings(
        environ={
            "HUB_DATABASE_URL": "postgresql+asyncpg://postgres@/hub?host=/run/pg&port=5433",
            "HUB_REDIS_URL": "unix:///run/redis.sock?db=2",
            "HUB_CORS_ORIGINS": "https://a.example, http://localhost:3000, http://[::1]:8080",
            "HUB_ALLOWED_HOSTS": "hub.example.com,*.hub.example.com,192.0.2.7,[2001:db8::1]",
            "HUB_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1, 2001:db8::/32",
            "HUB_LOG_LEVEL": "debug",
            "HUB_SMTP_URL": "smtp://hub%40x:p%3Ass@mail.example:2525?timeout=5",
            "HUB_WORKER_METRICS_PORT": "",  # empty: unset
            "HUB_MAIL_FROM": "no-reply@hub.example",
            "HUB_JWT_ISSUER": "https://hub.example.com",
        }
    )
    assert s.worker_metrics_port is None
    assert s.allowed_hosts[1] == "*.hub.example.com"
    for url in ("postgres://db/hub", "postgresql://u:p%40ss@db:5432/hub"):
        assert load_settings(environ={"HUB_DATABASE_URL": url}).database_url == url
    for url in ("redis://cache", "rediss://:pw@cache:6380/3"):
        assert load_settings(environ={"HUB_REDIS_URL": url}).redis_url == url
    anything = load_settings(environ={"HUB_CORS_ORIGINS": "*", "HUB_ALLOWED_HOSTS": "*"})
    assert anything.allowed_hosts == ("*",)


def test_hub_command_prints_one_line_for_a_bad_setting() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_DATABASE_URL"] = "garbage"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "hub"), "db", "current"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: HUB_DATABASE_URL must be a postgresql:// URL")
    assert "(got 'garbage')" in lines[0]


class _ContentSection(msgspec.Struct, kw_only=True, frozen=True):
    max_widgets: int = 3


class _ClashingSection(msgspec.Struct, kw_only=True, frozen=True):
    lockout_threshold: int = 1


def test_context_sections_read_their_own_variables() -> None:
    from hub.identity.domain.settings import IdentitySettings
    from hub.kernel.settings import load_settings as load_kernel_settings

    s = load_kernel_settings(
        environ={"HUB_LOCKOUT_THRESHOLD": "7", "HUB_MAX_WIDGETS": "9"},
        sections={"identity": IdentitySettings, "content": _ContentSection},
    )
    assert s.section("identity").lockout_threshold == 7
    assert s.section("content").max_widgets == 9
    # the kernel's own struct no longer carries identity's settings
    assert "lockout_threshold" not in field_types(Settings)
    # overrides and replace() are routed to whoever declares the name
    tighter = s.replace(lockout_threshold=2, max_body_bytes=5)
    assert tighter.section("identity").lockout_threshold == 2
    assert tighter.max_body_bytes == 5
    with pytest.raises(SettingsError, match="unknown setting HUB_NO_SUCH"):
        s.replace(no_such=1)
    with pytest.raises(SettingsError, match="unknown setting HUB_NO_SUCH"):
        load_kernel_settings(environ={}, no_such=1)


def test_a_section_is_validated_like_the_kernel() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"HUB_LOCKOUT_THRESHOLD": "0"})
    assert str(err.value).startswith("HUB_LOCKOUT_THRESHOLD must be an integer >= 1")


def test_two_contexts_cannot_declare_the_same_setting() -> None:
    from hub.identity.domain.settings import IdentitySettings
    from hub.kernel.settings import load_settings as load_kernel_settings

    with pytest.raises(SettingsError, match="HUB_LOCKOUT_THRESHOLD is declared by both"):
        load_kernel_settings(
            environ={}, sections={"identity": IdentitySettings, "content": _ClashingSection}
        )


def test_settings_without_a_section_say_how_to_load_them() -> None:
    from hub.kernel.settings import load_settings as load_kernel_settings

    with pytest.raises(SettingsError, match=r"hub\.app\.load_settings"):
        load_kernel_settings(environ={}).section("identity")


def test_previous_secret_keys_are_a_list_held_to_the_same_length_rule() -> None:
    environ = {
        "HUB_ENV": "production",
        "HUB_DATABASE_URL": "postgresql://db/hub",
        "HUB_REDIS_URL": "redis://cache",
        "HUB_SMTP_URL": "smtps://mail.example",
        "HUB_SECRET_KEY": STRONG,
        "HUB_SECRET_KEY_PREVIOUS": f"{'y' * 40}, {DEFAULT_SECRET_KEY}",
    }
    s = load_settings(environ=environ)
    assert s.secret_key_previous == ("y" * 40, DEFAULT_SECRET_KEY)
    s.check_production_safety()  # the development default may be left behind this way
    weak = load_settings(environ={**environ, "HUB_SECRET_KEY_PREVIOUS": f"{STRONG},{'z' * 20}"})
    with pytest.raises(SettingsError, match="HUB_SECRET_KEY_PREVIOUS"):
        weak.check_production_safety()


def test_a_previous_secret_key_is_never_echoed() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"HUB_SECRET_KEY_PREVIOUS": "hunter2-short"})
    assert "hunter2" not in str(err.value)
    assert str(err.value).startswith("HUB_SECRET_KEY_PREVIOUS must be")
