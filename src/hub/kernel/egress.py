"""Requests the hub sends to addresses its users chose (outbound webhooks, browsers' push
endpoints), kept off the hub's own network (SSRF).

* :func:`check_url` runs when such a URL is saved: ``http``/``https`` only, no
  credentials, and a host that is a literal forbidden address (``127.0.0.1``, ``[::1]``,
  ``169.254.169.254``, ``0x7f.1``…) or a ``localhost`` name is refused.
* :func:`request` runs on every delivery: it resolves the name again, refuses when *any*
  address it resolves to is loopback, private, link-local, shared (CGNAT), multicast,
  unspecified, reserved or otherwise not globally routable, or a cloud metadata address,
  then connects to the checked address itself (the HTTP client never resolves the name,
  so a second answer cannot rebind it) with the name in the ``Host`` header and TLS SNI
  (the certificate is verified against the name). Redirects are not followed, time is
  bounded (connect and total), and at most ``max_body`` bytes of the answer are read.

``HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS`` and ``HUB_WEBPUSH_ALLOWED_NETWORKS`` (each an
:class:`AddressPolicy`) let listed addresses or networks through, e.g. a receiver on the
same host in development and tests. Cloud metadata addresses are refused even then.

The resolver is a parameter (``async (host, port) -> [address, …]``, the system's
``getaddrinfo`` by default): DNS is not a component the hub runs, so tests hand in one
that answers ``10.0.0.1`` to see a rebinding name refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import SplitResult, urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

#: Instance metadata services (AWS, GCP, Azure, OpenStack: 169.254.169.254; AWS IPv6:
#: fd00:ec2::254; ECS task metadata; Alibaba Cloud): never reachable, whatever is allowed.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class EgressRefused(Exception):
    """The request was not sent; ``reason`` says why in words a user can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _embedded_v4(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped, NAT64, 6to4 or Teredo IPv6 address (else
    itself): each reaches that IPv4 host."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
    return address


def forbidden_kind(address: IPAddress) -> str | None:
    """What kind of non-public address this is, or None for a public one."""
    address = _embedded_v4(address)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for kind, hit in (
        ("a loopback address", address.is_loopback),
        ("an unspecified address", address.is_unspecified),
        ("a link-local address", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("a private address", address.is_private),
        ("a reserved address", address.is_reserved),
    ):
        if hit:
            return kind
    if not address.is_global:
        return "not a public address"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses requests may go to: public ones, plus the ``allowed`` networks."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, networks: Sequence[str]) -> AddressPolicy:
        return cls(tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks))

    def refusal(self, address: IPAddress) -> str | None:
        """Why a request may not go to ``address``, or None."""
        kind = forbidden_kind(address)
        if kind is None:
            return None
        if address in METADATA_ADDRESSES or _embedded_v4(address) in METADATA_ADDRESSES:
            return kind
        inner = _embedded_v4(address)
        for candidate in {address, inner}:
            if any(candidate.version == n.version and candidate in n for n in self.allowed):
                return None
        return kind


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally: ``10.0.0.1``, ``::1`` (unbracketed), and the
    legacy forms ``inet_aton`` (and so ``getaddrinfo``) accepts: ``2130706433``,
    ``0x7f.1``, ``017700000001``."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


@dataclass(frozen=True)
class Target:
    """A checked URL: its parts and the host name as it goes on the wire (IDNA)."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    #: The literal address when the host is one.
    address: IPAddress | None


def check_url(url: str, policy: AddressPolicy) -> Target:
    """The URL's target, or :class:`EgressRefused` saying what is wrong with it."""
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise EgressRefused("The URL contains whitespace or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise EgressRefused(f"Not a valid URL ({exc}).") from None
    if parts.scheme not in ("http", "https"):
        raise EgressRefused("Only http:// and https:// URLs are accepted.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise EgressRefused("URLs with credentials (user:password@) are not accepted.")
    if parts.fragment:
        raise EgressRefused("A URL with a #fragment is not accepted.")
    if not (parts.hostname or "").rstrip("."):
        raise EgressRefused("The URL has no host.")
    return checked_host(
        parts.scheme,
        parts.hostname or "",
        port or (443 if parts.scheme == "https" else 80),
        policy,
        url=url,
        path=_path(parts),
    )


#: A DNS name once IDNA-encoded: labels of letters, digits, hyphens (and underscores,
#: which some records carry), none empty.
_HOST_NAME = re.compile(
    r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$"
)


def checked_host(
    scheme: str, host: str, port: int, policy: AddressPolicy, *, url: str = "", path: str = ""
) -> Target:
    """A host the hub is asked to reach (a URL's, or a mail server's): a literal address
    the policy refuses, a ``localhost`` name or a name IDNA cannot encode is
    :class:`EgressRefused`; a name is resolved (and checked) when it is connected to."""
    host = host.rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # an IPv6 literal as a URL writes it
    if not host or any(c.isspace() or ord(c) < 0x20 for c in host):
        raise EgressRefused("The host name is not valid.")
    address = literal_address(host)
    if address is None:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise EgressRefused("The host name is not valid.") from None
        if not _HOST_NAME.match(host):
            raise EgressRefused("The host name is not valid.")
        if host == "localhost" or host.endswith(".localhost"):
            raise EgressRefused(f"{host} is a loopback name.")
    else:
        reason = policy.refusal(address)
        if reason is not None:
            raise EgressRefused(f"{host} is {reason}.")
    return Target(url=url, scheme=scheme, host=host, port=port, path=path, address=address)


def _path(parts: SplitResult) -> str:
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives ``host`` (TCP)."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve(target: Target, policy: AddressPolicy, resolver: Resolver) -> list[IPAddress]:
    """The target's addresses, all checked: one forbidden address refuses the lot (a name
    with one public and one private address is how a rebinding attack looks)."""
    if target.address is not None:
        reason = policy.refusal(target.address)
        if reason is not None:
            raise EgressRefused(f"{target.host} is {reason}.")
        return [target.address]
    try:
        found = await resolver(target.host, target.port)
    except OSError as exc:
        raise EgressRefused(f"{target.host} does not resolve ({exc}).") from None
    addresses: list[IPAddress] = []
    for raw in found:
        try:
            address = ipaddress.ip_address(raw.split("%", 1)[0])
        except ValueError:
            raise EgressRefused(f"{target.host} resolves to {raw!r}, not an address.") from None
        reason = policy.refusal(address)
        if reason is not None:
            raise EgressRefused(f"{target.host} resolves to {address}, {reason}.")
        addresses.append(address)
    if not addresses:
        raise EgressRefused(f"{target.host} does not resolve to any address.")
    return addresses


@dataclass(frozen=True)
class Answer:
    status: int
    #: At most ``max_body`` bytes of the body.
    body: bytes
    headers: Mapping[str, str]
    duration_ms: int
    address: str


@lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    """One verifying TLS context for the process (loading the CA bundle costs ~ms)."""
    return httpx.create_ssl_context()


def _host_header(target: Target) -> str:
    default = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"


async def request(
    method: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    policy: AddressPolicy,
    resolver: Resolver = system_resolver,
    connect_timeout: float = 5.0,
    total_timeout: float = 15.0,
    max_body: int = 4096,
    tls: ssl.SSLContext | None = None,
) -> Answer:
    """``method`` (GET, POST) ``url`` under the rules of the module; :class:`EgressRefused`
    before anything is sent, ``httpx.HTTPError`` / ``TimeoutError`` when the transfer
    fails. A 3xx is returned as an answer (never followed). ``tls``: the verifying
    context (default: the system's CA bundle via certifi)."""
    started = time.perf_counter()
    target = check_url(url, policy)
    async with asyncio.timeout(total_timeout):
        addresses = await resolve(target, policy, resolver)
        last_error: Exception | None = None
        for address in addresses:
            literal = f"[{address}]" if address.version == 6 else str(address)
            pinned = f"{target.scheme}://{literal}:{target.port}{target.path}"
            extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
            async with httpx.AsyncClient(
                verify=tls or _tls(),
                follow_redirects=False,
                trust_env=False,
                timeout=httpx.Timeout(total_timeout, connect=connect_timeout),
                limits=httpx.Limits(max_keepalive_connections=0),
            ) as client:
                request = client.build_request(
                    method,
                    pinned,
                    content=body if method != "GET" else None,
                    headers={**headers, "Host": _host_header(target)},
                    extensions=extensions,
                )
                try:
                    response = await client.send(request, stream=True)
                except httpx.ConnectError as exc:
                    last_error = exc  # the next address, if the name has another
                    continue
                try:
                    kept = bytearray()
                    async for chunk in response.aiter_bytes():
                        kept += chunk
                        if len(kept) >= max_body:
                            break
                finally:
                    await response.aclose()
                return Answer(
                    status=response.status_code,
                    body=bytes(kept[:max_body]),
                    headers=dict(response.headers),
                    duration_ms=round((time.perf_counter() - started) * 1000),
                    address=str(address),
                )
        assert last_error is not None
        raise last_error
