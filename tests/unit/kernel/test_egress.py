"""The SSRF rules of outbound requests: what a saved URL may name and which resolved
addresses a delivery refuses."""

from __future__ import annotations

import ipaddress

import pytest

from hub.kernel.egress import AddressPolicy, EgressRefused, Target, check_url, resolve

NONE = AddressPolicy()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1/hook", "loopback"),
        ("http://[::1]:8080/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "cloud metadata"),
        ("http://[fd00:ec2::254]/", "cloud metadata"),
        ("http://10.1.2.3/", "private"),
        ("http://192.168.0.10/", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://100.64.0.1/", "not a public address"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://2130706433/", "loopback"),
        ("http://0x7f.1/", "loopback"),
        ("http://localhost:8000/", "loopback name"),
        ("http://api.localhost/", "loopback name"),
        ("ftp://example.com/", "Only http"),
        ("http://user:pw@example.com/", "credentials"),
        ("https://token@example.com/", "credentials"),
        ("http:///nohost", "no host"),
        ("http://example.com/#frag", "fragment"),
        ("http://exa mple.com/", "whitespace"),
    ],
)
def test_refused_at_save(url: str, why: str) -> None:
    with pytest.raises(EgressRefused) as err:
        check_url(url, NONE)
    assert why in err.value.reason


def test_public_names_and_addresses_pass() -> None:
    target = check_url("https://Hooks.Example.com:8443/in?x=1", NONE)
    assert (target.host, target.port, target.path) == ("hooks.example.com", 8443, "/in?x=1")
    assert check_url("http://93.184.215.14/", NONE).address is not None


def test_the_allow_list_opens_listed_networks_but_never_metadata() -> None:
    policy = AddressPolicy.of(["127.0.0.1/32", "10.0.0.0/8", "169.254.0.0/16"])
    check_url("http://127.0.0.1:9000/", policy)
    check_url("http://10.9.9.9/", policy)
    with pytest.raises(EgressRefused):
        check_url("http://127.0.0.2/", policy)
    with pytest.raises(EgressRefused):
        check_url("http://169.254.169.254/", policy)
    assert policy.refusal(ipaddress.ip_address("169.254.1.1")) is None


def _target(host: str) -> Target:
    return check_url(f"https://{host}/", NONE)


async def test_any_forbidden_resolved_address_refuses_the_name() -> None:
    async def rebinding(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "10.0.0.1"]

    with pytest.raises(EgressRefused) as err:
        await resolve(_target("hooks.example.com"), NONE, rebinding)
    assert err.value.reason == "hooks.example.com resolves to 10.0.0.1, a private address."

    async def metadata(host: str, port: int) -> list[str]:
        return ["fd00:ec2::254"]

    with pytest.raises(EgressRefused) as err:
        await resolve(_target("hooks.example.com"), NONE, metadata)
    assert "cloud metadata" in err.value.reason

    async def public(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]

    found = await resolve(_target("hooks.example.com"), NONE, public)
    assert [str(a) for a in found] == ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    async def nothing(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(EgressRefused) as err:
        await resolve(_target("nowhere.example.com"), NONE, nothing)
    assert "does not resolve" in err.value.reason
