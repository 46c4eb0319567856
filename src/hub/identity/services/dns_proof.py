"""Reading the TXT records that prove an organisation owns a domain (dnspython's asyncio
resolver; the servers are the system's unless HUB_DNS_NAMESERVERS names others).

Only the ``_hub-challenge`` label under a domain a manager typed is asked, for TXT records:
a lookup leaks nothing but the name, and answers are compared, never followed.
"""

from __future__ import annotations

from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.name
import dns.resolver

from hub.kernel.errors import DependencyUnavailable


@dataclass(frozen=True)
class TxtLookup:
    nameservers: tuple[str, ...]
    port: int
    timeout_seconds: int

    def _resolver(self) -> dns.asyncresolver.Resolver:
        try:
            resolver = dns.asyncresolver.Resolver(configure=not self.nameservers)
        except dns.resolver.NoResolverConfiguration:
            raise DependencyUnavailable("dns") from None
        if self.nameservers:
            resolver.nameservers = list(self.nameservers)
        resolver.port = self.port
        resolver.lifetime = float(self.timeout_seconds)
        return resolver

    async def txt(self, name: str) -> list[str]:
        """The TXT strings at ``name``: [] when the name or the record does not exist,
        503 ``dependency_unavailable`` (``dns``) when no server answered in time."""
        resolver = self._resolver()
        try:
            answer = await resolver.resolve(name, "TXT", search=False)
        except (
            dns.resolver.NXDOMAIN,
            dns.resolver.NoAnswer,
            dns.name.NameTooLong,
            dns.name.IDNAException,  # a name no record can sit at
        ):
            return []
        except (dns.resolver.NoNameservers, dns.exception.Timeout):
            raise DependencyUnavailable("dns") from None
        return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]
