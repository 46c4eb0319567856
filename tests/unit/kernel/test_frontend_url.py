"""HUB_FRONTEND_URL: empty by default (the hub serves its own link pages); when set, an
absolute http(s) base URL that ``/verify-email?token=…`` can be appended to."""

from __future__ import annotations

import pytest

from hub.kernel.settings import SettingsError, load_settings


def test_unset_means_the_hubs_own_pages() -> None:
    assert load_settings({}).frontend_url == ""
    assert load_settings({"HUB_FRONTEND_URL": ""}).frontend_url == ""


@pytest.mark.parametrize(
    "url", ["https://app.example.com", "http://localhost:3000/", "https://example.com/app"]
)
def test_absolute_http_urls_are_accepted(url: str) -> None:
    assert load_settings({"HUB_FRONTEND_URL": url}).frontend_url == url


@pytest.mark.parametrize(
    "url",
    [
        "app.example.com",
        "/verify",
        "ftp://app.example.com",
        "https://",
        "https://app.example.com/?next=1",
        "https://app.example.com/#top",
        "javascript:alert(1)",
    ],
)
def test_anything_else_is_refused_naming_the_variable(url: str) -> None:
    with pytest.raises(SettingsError, match="HUB_FRONTEND_URL must be an absolute http"):
        load_settings({"HUB_FRONTEND_URL": url})
    with pytest.raises(SettingsError, match="HUB_FRONTEND_URL"):
        load_settings({}, frontend_url=url + " ")
