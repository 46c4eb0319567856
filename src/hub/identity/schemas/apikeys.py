"""HTTP bodies of API keys. The secret appears in exactly one response: the creation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

from msgspec import Meta

from hub.identity.schemas.orgs import PermissionKeys
from hub.kernel.structs import Schema

#: 100 characters after collapsing whitespace, stated on the raw text.
KeyName = Annotated[str, Meta(min_length=1, max_length=100)]


class ApiKeyIn(Schema):
    example: ClassVar[dict[str, Any]] = {
        "name": "invoice importer",
        "permissions": ["identity.org.read"],
        "expiresAt": "2030-01-01T00:00:00Z",
    }

    name: KeyName
    #: Catalogue keys the key may use (never more than its owner holds at request time).
    permissions: PermissionKeys
    #: Bind the key to one organisation (a service-account key, managed by the
    #: organisation's key managers); without it the key acts in all of the owner's.
    organisation_id: uuid.UUID | None = None
    expires_at: Annotated[datetime, Meta(tz=True)] | None = None


class ApiKeyOut(Schema):
    id: uuid.UUID
    name: str
    #: ``hub_ak_<public id>``: recognisable, useless without the secret.
    prefix: str
    user_id: uuid.UUID
    organisation_id: uuid.UUID | None
    permissions: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreatedOut(ApiKeyOut):
    """The only response that carries the key: store it now, it cannot be shown again."""

    key: str
