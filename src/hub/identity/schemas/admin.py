"""HTTP bodies of platform administration (``/users``).

``PATCH /users/{id}`` takes exactly two switches; anything else a client sends (roles,
``isPlatformAdmin``, ``emailVerified``, an address) is ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from msgspec import UNSET, UnsetType

from hub.identity.schemas import AccountFields
from hub.kernel.structs import PatchSchema


class UserOut(AccountFields):
    disabled: bool
    created_at: datetime
    #: A brute-force lock currently refuses this user's password or second factor
    #: (only on single-user reads).
    locked: bool | None = None


class UserPatch(PatchSchema):
    example: ClassVar[dict[str, Any]] = {"disabled": True}

    #: true: disable and end every session at once; false: enable again.
    disabled: bool | UnsetType = UNSET
    #: true: clear the brute-force lockouts of the account and its second factor.
    unlock: bool | UnsetType = UNSET
