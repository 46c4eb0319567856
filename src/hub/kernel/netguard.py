"""Server-side request forgery guard: may the hub connect to this host?

Wherever an organisation (not the operator) names a host the hub then connects to (a
generic JSON endpoint of a chat channel, later webhooks), a host that resolves to an
address that is not globally routable is refused: loopback, private (RFC 1918, unique
local IPv6), link-local (cloud metadata at ``169.254.169.254``), carrier-grade NAT,
multicast, reserved and unspecified addresses, and IPv4 addresses hidden in IPv6
(mapped, 6to4, Teredo). An operator lets some through with an allow-list of networks
(a test's ``127.0.0.1``, an internal chat server).

A name is resolved and *every* address it resolves to must be allowed (one private
record among public ones is refused). Resolution happens when the host is checked, and
the connecting library resolves again: a name whose records change in between (DNS
rebinding) is a residual risk that checking again just before each send narrows.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(allowed: Iterable[str]) -> tuple[Network, ...]:
    """Allow-list entries (``10.0.0.0/8``, ``127.0.0.1``) as networks."""
    return tuple(ipaddress.ip_network(n, strict=False) for n in allowed)


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def address_allowed(address: Address, allowed: Sequence[Network] = ()) -> bool:
    """Globally routable, or inside an allowed network."""
    if any(address in network for network in allowed):
        return True
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_v4(address)
        if inner is not None:
            return address_allowed(inner, allowed)
    return address.is_global and not address.is_multicast


#: Longest wait for a name to resolve; past it the name counts as unresolvable.
RESOLVE_TIMEOUT_S = 5.0


async def resolve(host: str, port: int | None = None) -> list[Address]:
    """The addresses ``host`` resolves to (a literal is itself; none when unresolvable or
    not resolved within :data:`RESOLVE_TIMEOUT_S`)."""
    literal = host.strip("[]")
    try:
        return [ipaddress.ip_address(literal)]
    except ValueError:
        pass
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            infos = await asyncio.get_running_loop().getaddrinfo(
                literal, port, type=socket.SOCK_STREAM
            )
    except (OSError, UnicodeError, TimeoutError):
        return []
    found: list[Address] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


async def refused_addresses(
    host: str, port: int | None = None, allowed: Sequence[Network] = ()
) -> list[Address]:
    """The addresses of ``host`` the hub must not connect to (empty: go ahead, or the
    name does not resolve, so nothing can be reached through it)."""
    return [a for a in await resolve(host, port) if not address_allowed(a, allowed)]
