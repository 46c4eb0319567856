"""The relying party of passkey (WebAuthn) ceremonies: its id and the origins a browser
may run them from, read from settings and checked at start.

A passkey is bound to an RP id (a registrable domain); a browser only uses it on pages
whose origin is that domain or a subdomain of it, and the authenticator signs the RP id's
hash, so a credential registered for one hub cannot be replayed against another.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from hub.identity.domain.roles import clean_name
from hub.kernel.problems import sized
from hub.kernel.settings import SettingsError

if TYPE_CHECKING:
    from hub.identity.domain.settings import IdentitySettings
    from hub.kernel.settings import Settings

#: A lower-case DNS name whose last label starts with a letter (so never an IP address:
#: browsers refuse IP addresses as RP ids), without scheme, port or path.
RP_ID_PATTERN = (
    r"^$|^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*"
    r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$"
)
_RP_ID_RE = re.compile(RP_ID_PATTERN)


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origins: tuple[str, ...]


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _host(origin: str) -> str:
    return (urlsplit(origin).hostname or "").lower()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def within(host: str, rp_id: str) -> bool:
    """A browser lets ``host`` use passkeys of ``rp_id``: the same name or a subdomain."""
    return host == rp_id or host.endswith("." + rp_id)


def relying_party(settings: IdentitySettings, kernel: Settings) -> RelyingParty:
    """The RP id and origins in force: the settings, or the host and origin of
    ``HUB_FRONTEND_URL`` (the pages the browser runs), else of ``HUB_PUBLIC_URL``."""
    base = kernel.frontend_url or kernel.public_url
    origins = settings.webauthn_origins or (_origin_of(base),)
    rp_id = settings.webauthn_rp_id or _host(origins[0])
    return RelyingParty(id=rp_id, name=settings.webauthn_rp_name, origins=origins)


def check_relying_party(settings: IdentitySettings, kernel: Settings) -> None:
    """Explicit origins must be secure (https, or http on localhost) and every origin must
    lie within the RP id; otherwise no browser would ever complete a ceremony."""
    rp = relying_party(settings, kernel)
    for origin in settings.webauthn_origins:
        parts = urlsplit(origin)
        host = _host(origin)
        secure = parts.scheme == "https" or (
            parts.scheme == "http" and (host == "localhost" or host.endswith(".localhost"))
        )
        if origin == "*" or not secure or _is_ip(host):
            raise SettingsError(
                "HUB_WEBAUTHN_ORIGINS must be https:// origins (http:// only on localhost) "
                f"named by host, not '*' or an IP address (got {origin!r})"
            )
        if not within(host, rp.id):
            raise SettingsError(
                "HUB_WEBAUTHN_ORIGINS must be origins on the RP id's domain or a subdomain "
                f"of it (got {origin!r}, RP id {rp.id!r})"
            )
    if settings.webauthn_rp_id:
        outside = [o for o in rp.origins if not within(_host(o), rp.id)]
        if outside:
            raise SettingsError(
                "HUB_WEBAUTHN_RP_ID must be the host of every passkey origin or a parent "
                f"domain of it (got {rp.id!r}; origins {', '.join(outside)}; set "
                "HUB_WEBAUTHN_ORIGINS)"
            )


#: A passkey's name, after collapsing whitespace ("Ada's phone", "YubiKey 5C").
MAX_PASSKEY_NAME = 100


def clean_passkey_name(raw: str) -> str:
    """The stored form of a passkey's name (422 ``validation_failed`` when blank or long)."""
    return sized(clean_name(raw), field="name", most=MAX_PASSKEY_NAME)
