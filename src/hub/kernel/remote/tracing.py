"""What a remote call carries of the request it serves: correlation id, trace, actor.

One request's effects in two services share an id: the caller sends its correlation id as
``X-Request-ID`` (the callee's request id, logged and stamped on the events it publishes,
hence in the audit trail) and as the trace id of a W3C ``traceparent`` (so a tracing proxy
or collector joins the two spans). The actor, organisation and client address travel in
``X-Hub-Acting``, trusted only from an authenticated service, so an event the callee
publishes names the person who caused it, as it would in one process.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid

import msgspec

from hub.kernel.acting import Acting, current_acting
from hub.kernel.db import current_correlation_id

ACTING_HEADER = "x-hub-acting"
_HEX32_RE = re.compile(r"^[0-9a-f]{32}$")


class ActingWire(msgspec.Struct, array_like=True, omit_defaults=True):
    actor_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None
    actor_type: str | None = None
    client_address: str | None = None


def trace_id_of(correlation_id: str) -> str:
    """A W3C trace id for a correlation id: itself when it is one (the hub's request ids are
    32 hex digits), else a stable digest of it."""
    lowered = correlation_id.lower()
    if _HEX32_RE.match(lowered) and lowered != "0" * 32:
        return lowered
    return hashlib.sha256(correlation_id.encode()).hexdigest()[:32]


def outgoing_headers() -> dict[str, str]:
    """Headers for a remote call made while serving the current request or job."""
    headers: dict[str, str] = {}
    correlation = current_correlation_id()
    if correlation is not None:
        headers["x-request-id"] = correlation
        headers["traceparent"] = f"00-{trace_id_of(correlation)}-{secrets.token_hex(8)}-01"
    acting = current_acting()
    if acting is not None and (acting.actor_id or acting.organisation_id or acting.actor_type):
        wire = ActingWire(
            actor_id=acting.actor_id,
            organisation_id=acting.organisation_id,
            actor_type=acting.actor_type,
            client_address=acting.client_address,
        )
        headers[ACTING_HEADER] = msgspec.json.encode(wire).decode()
    return headers


def acting_from(header: str | None, request_id: str | None) -> Acting:
    """The caller's acting scope from ``X-Hub-Acting`` (empty when absent or malformed)."""
    if header:
        try:
            wire = msgspec.json.decode(header, type=ActingWire)
        except msgspec.DecodeError:
            wire = ActingWire()
    else:
        wire = ActingWire()
    return Acting(
        actor_id=wire.actor_id,
        organisation_id=wire.organisation_id,
        actor_type=wire.actor_type,
        request_id=request_id,
        client_address=wire.client_address,
    )
