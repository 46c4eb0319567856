"""Apprise URLs of chat channels: checked, shown without secrets, scrubbed from errors."""

from __future__ import annotations

import logging

import pytest

from hub.communication.domain.chat_channels import check_url, handling, mask_host, scrub
from hub.kernel.errors import Invalid


def test_a_slack_url_shows_its_service_and_no_host() -> None:
    target = check_url("slack://T1234ABCD/B5678EFGH/abcdefghijklmnopqrstuvwx/#general")
    assert (target.scheme, target.service, target.shown_host, target.host) == (
        "slack",
        "Slack",
        None,
        None,
    )


def test_a_json_url_names_its_host_for_the_guard() -> None:
    target = check_url("jsons://user:pw@hooks.internal.example.com:8443/x/secret")
    assert (target.host, target.port) == ("hooks.internal.example.com", 8443)
    assert target.shown_host == "*.example.com"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("nope://x", "unknown_channel_scheme"),
        ("just text", "invalid_channel_url"),
        ("tgram://", "invalid_channel_url"),
        ("json://" + "a" * 2001, "validation_failed"),
    ],
)
def test_bad_urls_are_422_naming_the_field(url: str, code: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_url(url, name="url")
    assert caught.value.code == code
    assert caught.value.errors[0].field == "url"
    assert "secret" not in str(caught.value.detail)


def test_masking() -> None:
    assert mask_host("10.0.0.1") == "10.0.0.1"
    assert mask_host("example.com") == "example.com"
    assert mask_host("a.b.example.com") == "*.example.com"


def test_scrub_takes_out_every_piece_of_the_url() -> None:
    url = "json://hub:pAssWord@127.0.0.1:8080/hooks/T0KEN?key=v4lue"
    text = (
        "failed http://127.0.0.1:8080/hooks/T0KEN?key=v4lue as hub:pAssWord "
        "token T0KEN, key v4lue, path hooks/T0KEN"
    )
    cleaned = scrub(text, url)
    for secret in ("pAssWord", "T0KEN", "v4lue"):
        assert secret not in cleaned
    assert cleaned.startswith("failed http://")


def test_apprise_log_records_are_scrubbed_while_a_url_is_handled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = "json://127.0.0.1/hooks/S3CR3T-T0KEN"
    with handling(url):
        logging.getLogger("apprise").warning("Loaded %s", url)
        logging.getLogger("urllib3.connectionpool").debug('"POST /hooks/S3CR3T-T0KEN" 500')
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert all("S3CR3T-T0KEN" not in m for m in messages)
