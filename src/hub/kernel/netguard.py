"""Server-side request forgery guard for names: may the hub connect to this host?

Wherever an organisation (not the operator) names a host the hub then connects through a
library that resolves it itself (Apprise's generic JSON endpoints of a chat channel), the
host is resolved here and refused when *any* address is not public — the rule of
:class:`hub.kernel.egress.AddressPolicy` (loopback, private, link-local and cloud
metadata, carrier-grade NAT, multicast, reserved, unspecified, and IPv4 hidden in IPv6),
with the operator's allow-list of networks. Webhooks, which the hub sends itself, go
further: :mod:`hub.kernel.egress` connects to the very address it checked.

The connecting library resolves again: a name whose records change in between (DNS
rebinding) is a residual risk that checking again just before each send narrows.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable, Sequence

from hub.kernel.egress import (
    AddressPolicy,
    IPAddress,
    IPNetwork,
    literal_address,
    system_resolver,
)

Address = IPAddress
Network = IPNetwork


def networks(allowed: Iterable[str]) -> tuple[Network, ...]:
    """Allow-list entries (``10.0.0.0/8``, ``127.0.0.1``) as networks."""
    return AddressPolicy.of(list(allowed)).allowed


def address_allowed(address: Address, allowed: Sequence[Network] = ()) -> bool:
    """Public, or inside an allowed network (cloud metadata addresses never are)."""
    return AddressPolicy(tuple(allowed)).refusal(address) is None


#: Longest wait for a name to resolve; past it the name counts as unresolvable.
RESOLVE_TIMEOUT_S = 5.0


async def resolve(host: str, port: int | None = None) -> list[Address]:
    """The addresses ``host`` resolves to (a literal is itself; none when unresolvable or
    not resolved within :data:`RESOLVE_TIMEOUT_S`): egress's resolver, which raises
    instead, for a library that will connect by the name itself."""
    name = host.strip("[]")
    literal = literal_address(name)
    if literal is not None:
        return [literal]
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            found = await system_resolver(name, port or 0)
    except (OSError, UnicodeError, TimeoutError):
        return []
    return list(dict.fromkeys(ipaddress.ip_address(a.split("%", 1)[0]) for a in found))


async def refused_addresses(
    host: str, port: int | None = None, allowed: Sequence[Network] = ()
) -> list[Address]:
    """The addresses of ``host`` the hub must not connect to (empty: go ahead, or the
    name does not resolve, so nothing can be reached through it)."""
    return [a for a in await resolve(host, port) if not address_allowed(a, allowed)]
