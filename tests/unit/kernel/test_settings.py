"""Settings come from HUB_* variables, are validated at start, and production is strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.kernel.settings import DEFAULT_SECRET_KEY, SettingsError, load_settings

STRONG = "x" * 40


def test_defaults_are_a_working_development_setup() -> None:
    s = load_settings(environ={})
    assert s.env == "development"
    assert s.data_dir == Path(".hub")
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
