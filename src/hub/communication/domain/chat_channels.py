"""Chat and SMS channels of an organisation: Apprise URLs, checked, shown without secrets.

An organisation admin names a target as an Apprise URL (``slack://…``, ``msteams://…``,
``discord://…``, ``matrixs://…``, ``tgram://…``, ``json://host/path`` …). Its tokens,
passwords and paths are credentials, so the URL is write-only: it is sealed at rest and
what the API shows is :func:`describe` (the scheme, the service's name and, for services
at an address of the organisation's choosing, the host with all but its last two labels
masked). :func:`scrub` takes every piece of the URL out of an error text before it is
stored or raised, since Apprise's and the HTTP library's messages may quote it.

Services whose URL names a host (``json``, ``xml``, ``form``, self-hosted Matrix,
Mattermost, ntfy, Gotify …) are the server-side request forgery risk: those hosts go
through the kernel's address guard (``hub.kernel.netguard``) when saved and before
every send.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import ipaddress
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise

from hub.kernel.problems import field_invalid

KINDS = ("chat", "sms")
MAX_URL_LENGTH = 2000
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{1,31}$")
_MASK = "***"

#: The URL Apprise is handling in this context (and the threads Apprise runs it on: it
#: copies contextvars): every log record of Apprise and of urllib3 is scrubbed of it.
_IN_USE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "apprise_url_in_use", default=None
)


class _Scrub(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        url = _IN_USE.get()
        if url:
            record.msg, record.args = scrub(record.getMessage(), url), ()
        return True


@contextlib.contextmanager
def handling(url: str) -> Iterator[None]:
    """While Apprise parses or sends ``url``: what it and the HTTP library log about it
    (Apprise quotes whole URLs, urllib3 the request path) is scrubbed before any handler,
    the hub's or a test's, sees it."""
    quiet_apprise_logs()
    token = _IN_USE.set(url)
    try:
        yield
    finally:
        _IN_USE.reset(token)


def quiet_apprise_logs() -> None:
    """Install the scrubbing filter, and keep Apprise's own chatter out of the hub's log
    (the hub logs each outcome itself)."""
    logging.getLogger("apprise").propagate = False
    for name in ("apprise", "urllib3.connectionpool"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _Scrub) for f in logger.filters):
            logger.addFilter(_Scrub())


@dataclass(frozen=True)
class Target:
    """What a checked URL is: shown in the API, and the host the guard must check."""

    scheme: str
    service: str
    #: The host as shown (masked), or None for a service at a fixed address.
    shown_host: str | None
    #: The host and port to check against the address guard (None: a fixed service).
    host: str | None
    port: int | None


def _plugin(url: str) -> Any:
    with handling(url):
        return apprise.Apprise.instantiate(url, suppress_exceptions=True)


def check_url(url: str, *, name: str = "url") -> Target:
    """The URL parsed by Apprise; 422 naming ``name`` for an unknown or broken URL (the
    message never repeats the URL)."""
    if len(url) > MAX_URL_LENGTH:
        raise field_invalid(name, f"at most {MAX_URL_LENGTH} characters")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if not _SCHEME.match(scheme):
        raise field_invalid(name, "an Apprise URL (scheme://…)", code="invalid_channel_url")
    if scheme not in _schemes():
        raise field_invalid(
            name, f"Apprise does not know the scheme {scheme!r}", code="unknown_channel_scheme"
        )
    plugin = _plugin(url)
    if plugin is None:
        raise field_invalid(
            name,
            f"not a valid {scheme} URL for Apprise (a token or address is missing or malformed)",
            code="invalid_channel_url",
        )
    host: str | None = None
    port: int | None = None
    if "host" in getattr(type(plugin), "template_tokens", {}) and getattr(plugin, "host", None):
        host = str(plugin.host)
        port = int(plugin.port) if getattr(plugin, "port", None) else None
    return Target(
        scheme=scheme,
        service=str(getattr(plugin, "service_name", scheme)),
        shown_host=mask_host(host) if host else None,
        host=host,
        port=port,
    )


@functools.cache
def _schemes() -> frozenset[str]:
    details = apprise.Apprise().details(show_disabled=False)
    found: set[str] = set()
    for service in details.get("schemas", []):
        for key in ("protocols", "secure_protocols"):
            found.update(str(p).lower() for p in service.get(key) or ())
    return frozenset(found)


def mask_host(host: str) -> str:
    """An IP address as is (an address is not a credential); a name with all but its last
    two labels masked (``hooks.internal.example.com`` -> ``*.example.com``)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        labels = host.split(".")
        return host if len(labels) <= 2 else "*." + ".".join(labels[-2:])
    return host


def scrub(text: str, url: str) -> str:
    """``text`` with the URL and every piece of it (user, password, host of a token
    service, path segments, query values) replaced by ``***``."""
    parts = urlsplit(url)
    secrets = {url, url.split("://", 1)[-1], parts.netloc, unquote(parts.netloc)}
    userinfo, _, hostport = parts.netloc.rpartition("@")
    secrets.update({userinfo, hostport, *userinfo.split(":", 1)})
    secrets.update(segment for segment in parts.path.split("/"))
    secrets.add(parts.path.strip("/"))
    secrets.update(value for _, value in parse_qsl(parts.query))
    secrets.update(unquote(s) for s in list(secrets))
    for secret in sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True):
        text = text.replace(secret, _MASK)
    return text
