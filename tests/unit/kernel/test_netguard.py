"""The address guard: which hosts an organisation-configured URL may reach."""

from __future__ import annotations

import ipaddress

import pytest

from hub.kernel.netguard import address_allowed, networks, refused_addresses


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104 - an address checked, nothing bound
        "224.0.0.1",
        "::1",
        "fd00:ec2::254",
        "fe80::1",
        "::ffff:10.0.0.1",  # IPv4-mapped
        "2002:a00:1::",  # 6to4 of 10.0.0.1
    ],
)
def test_addresses_that_are_not_public_are_refused(address: str) -> None:
    assert not address_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "::ffff:1.1.1.1"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_allowed(ipaddress.ip_address(address))


def test_the_allow_list_lets_a_network_through() -> None:
    allowed = networks(["127.0.0.1", "10.0.0.0/8"])
    assert address_allowed(ipaddress.ip_address("127.0.0.1"), allowed)
    assert address_allowed(ipaddress.ip_address("10.9.9.9"), allowed)
    assert address_allowed(ipaddress.ip_address("::ffff:10.9.9.9"), allowed)
    assert not address_allowed(ipaddress.ip_address("127.0.0.2"), allowed)


async def test_names_are_resolved_and_literals_are_not() -> None:
    assert [str(a) for a in await refused_addresses("localhost")] in (
        ["127.0.0.1"],
        ["::1"],
        ["::1", "127.0.0.1"],
        ["127.0.0.1", "::1"],
    )
    assert await refused_addresses("[::1]") == [ipaddress.ip_address("::1")]
    assert await refused_addresses("127.0.0.1", allowed=networks(["127.0.0.0/8"])) == []
    assert await refused_addresses("name.invalid") == []  # unresolvable: nothing to reach
