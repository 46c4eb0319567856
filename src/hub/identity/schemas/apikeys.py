"""HTTP bodies of API keys. The secret appears in exactly one response: the creation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from msgspec import Meta

from hub.identity.schemas.orgs import PermissionKeys
from hub.kernel.structs import Schema

KeyName = Annotated[str, Meta(min_length=1, max_length=200)]


class ApiKeyIn(Schema):
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
