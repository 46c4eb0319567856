"""What a session's device is called, from its User-Agent, and when a sign-in comes from a
device the account has not used.

The name is the browser's and the system's families ("Firefox on Windows", "Mobile Safari
on iOS"), read by ua-parser (the uap-core rules that Browserscope and Keycloak's account
console use), without versions: a browser updates every few weeks, and an update is not a
new device. The User-Agent is whatever the client sends, so the name only says what the
client claims to be; it is a hint for the person reading their sessions, never a check.
"""

from __future__ import annotations

from collections.abc import Iterable

from ua_parser import parse

UNKNOWN = "Unknown device"


def _family(part: object) -> str | None:
    family = getattr(part, "family", None)
    return family if isinstance(family, str) and family and family != "Other" else None


def device_of(user_agent: str) -> str:
    """``"<browser> on <system>"``, one of the two, or ``"Unknown device"``. The
    User-Agent comes as the kernel's ``ClientInfo`` read it: at most 512 characters."""
    result = parse(user_agent)
    browser, system = _family(result.user_agent), _family(result.os)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or UNKNOWN


def is_new_device(device: str, earlier: Iterable[str]) -> bool:
    """Whether a sign-in on ``device`` deserves a "new sign-in" notice, given the devices of
    the account's earlier sessions: only when there were earlier sessions (the first
    sign-in after registering is expected) and none was on this device."""
    seen = set(earlier)
    return bool(seen) and device not in seen
