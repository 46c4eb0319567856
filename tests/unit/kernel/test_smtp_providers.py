"""HUB_SMTP_URLS: the providers in order, their names, the shorthand HUB_SMTP_URL and the
rule between the two; which failures fail over."""

from __future__ import annotations

import pytest

from hub.kernel.mail import PermanentMailError, RecipientsRefusedError, TemporaryMailError
from hub.kernel.mail_failover import is_provider_failure
from hub.kernel.settings import SettingsError, load_settings, parse_smtp_urls

STRONG = "x" * 40


def test_providers_keep_their_order_and_are_named_by_host_and_port_or_name() -> None:
    configs = parse_smtp_urls(
        [
            "smtps://u:p%2Cw@mail.primary.example?name=primary",
            "smtp://relay.example:2525?starttls=0",
            "smtp://[2001:db8::1]",
        ]
    )
    assert [c.name for c in configs] == ["primary", "relay.example:2525", "[2001:db8::1]:587"]
    assert [c.host for c in configs] == ["mail.primary.example", "relay.example", "2001:db8::1"]
    assert configs[0].password == "p,w"  # a comma in a password: percent-encoded
    assert (configs[0].use_tls, configs[1].start_tls, configs[2].start_tls) == (True, False, True)


def test_the_list_is_read_from_the_environment_comma_separated() -> None:
    s = load_settings(
        environ={
            "HUB_SMTP_URLS": " smtp://a.example?name=a , smtps://b.example ",
            "HUB_SMTP_BREAKER_FAILURES": "3",
            "HUB_SMTP_BREAKER_RESET_S": "120",
        }
    )
    assert s.smtp_urls == ("smtp://a.example?name=a", "smtps://b.example")
    assert [p.name for p in s.smtp_providers()] == ["a", "b.example:465"]
    assert (s.smtp_breaker_failures, s.smtp_breaker_reset_s) == (3, 120)


def test_defaults_and_the_single_url_shorthand() -> None:
    s = load_settings(environ={})
    assert s.smtp_providers() == []  # the development mailbox
    assert (s.smtp_breaker_failures, s.smtp_breaker_reset_s) == (5, 60)
    one = load_settings(environ={"HUB_SMTP_URL": "smtp://mail.example"})
    assert [p.name for p in one.smtp_providers()] == ["mail.example:587"]
    empty = load_settings(environ={"HUB_SMTP_URLS": "", "HUB_SMTP_URL": "smtp://m.example"})
    assert [p.name for p in empty.smtp_providers()] == ["m.example:587"]


def test_both_set_the_single_url_must_be_the_first_of_the_list() -> None:
    both = {"HUB_SMTP_URL": "smtp://a.example", "HUB_SMTP_URLS": "smtp://a.example,smtp://b"}
    s = load_settings(environ=both)
    assert [p.host for p in s.smtp_providers()] == ["a.example", "b"]
    for urls in ("smtp://b,smtp://a.example", "smtp://b"):
        with pytest.raises(SettingsError) as err:
            load_settings(environ={**both, "HUB_SMTP_URLS": urls})
        assert str(err.value).startswith(
            "HUB_SMTP_URLS must start with HUB_SMTP_URL when both are set"
        )


def test_a_bad_entry_is_named_and_its_password_masked() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(
            environ={"HUB_SMTP_URLS": "smtp://a.example,smtp://hub:s3cret-pw@b.example?tls=1"}
        )
    message = str(err.value)
    assert message == (
        "HUB_SMTP_URLS must be a comma-separated list of SMTP URLs, each a URL with only the "
        "parameters cafile, name, starttls, timeout, verify (unknown: tls) "
        "(got 'smtp://hub:***@b.example?tls=1')"
    )
    with pytest.raises(SettingsError, match="naming each provider once"):
        load_settings(environ={"HUB_SMTP_URLS": "smtp://a.example:25,smtps://a.example:25"})


def test_production_accepts_the_list_alone() -> None:
    s = load_settings(
        environ={
            "HUB_ENV": "production",
            "HUB_DATABASE_URL": "postgresql://db/hub",
            "HUB_REDIS_URL": "redis://cache",
            "HUB_SECRET_KEY": STRONG,
            "HUB_SMTP_URLS": "smtps://a.example,smtps://b.example",
        }
    )
    s.check_production_safety()


def test_which_failures_charge_the_provider() -> None:
    assert is_provider_failure(ConnectionRefusedError())
    assert is_provider_failure(TimeoutError())
    assert is_provider_failure(PermanentMailError("554 5.7.1 relay denied"))
    assert is_provider_failure(TemporaryMailError("451", delay=1))
    assert not is_provider_failure(RecipientsRefusedError("550 5.1.1 no such user"))
    assert not is_provider_failure(ValueError("a bug, not the provider"))
