"""Rate-limit settings and route declarations, checked without a server."""

from __future__ import annotations

import pytest
from litestar import Litestar, get

from hub.kernel.ratelimit import BUCKETS, check_routes, rate_limit
from hub.kernel.settings import SettingsError, load_settings


def test_quotas_read_requests_per_seconds_and_default_to_on() -> None:
    s = load_settings(
        environ={"HUB_RATE_LIMIT_READS": " 600/60 ", "HUB_RATE_LIMIT_SENDS": "10/3600"}
    )
    assert s.rate_limit_enabled is True
    quotas = s.rate_limit_quotas()
    assert set(quotas) == set(BUCKETS)
    assert quotas["reads"] == (600, 60)
    assert quotas["sends"] == (10, 3600)
    assert load_settings(environ={"HUB_RATE_LIMIT_ENABLED": "0"}).rate_limit_enabled is False


@pytest.mark.parametrize(
    "value", ["600", "600/", "/60", "0/60", "600/0", "-1/60", "ten/60", "1/1m"]
)
@pytest.mark.parametrize("bucket", BUCKETS)
def test_a_malformed_quota_stops_the_start_naming_its_variable(bucket: str, value: str) -> None:
    variable = f"HUB_RATE_LIMIT_{bucket.upper()}"
    with pytest.raises(SettingsError, match=variable) as err:
        load_settings(environ={variable: value})
    assert "<requests>/<seconds>" in str(err.value)


def test_the_address_factor_must_be_at_least_one() -> None:
    with pytest.raises(SettingsError, match="HUB_RATE_LIMIT_ADDRESS_FACTOR"):
        load_settings(environ={"HUB_RATE_LIMIT_ADDRESS_FACTOR": "0"})
    with pytest.raises(SettingsError, match="HUB_RATE_LIMIT_ADDRESS_FACTOR"):
        load_settings(environ={"HUB_RATE_LIMIT_ADDRESS_FACTOR": "many"})


def test_a_route_names_a_known_bucket_or_none() -> None:
    assert rate_limit("sends") == {"rate_limit": "sends"}
    assert rate_limit(False) == {"rate_limit": False}
    with pytest.raises(ValueError, match="unknown rate-limit bucket 'send'"):
        rate_limit("send")


def test_a_route_naming_an_unknown_bucket_is_refused_at_start() -> None:
    @get("/typo", opt={"rate_limit": "serach"}, sync_to_thread=False)
    def typo() -> None:
        return None

    @get("/fine", opt=rate_limit("search"), sync_to_thread=False)
    def fine() -> None:
        return None

    check_routes(Litestar([fine]))
    with pytest.raises(SettingsError, match=r"/typo .*'serach'"):
        check_routes(Litestar([fine, typo]))
