"""The one base struct for HTTP bodies: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

from typing import Any

import msgspec


class Schema(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=False):
    """Base of every request/response body.

    Unknown fields are ignored rather than refused so older clients keep working; fields a
    client must never set (ids, roles, flags) are simply absent from input schemas, which
    is what makes mass assignment impossible.
    """


class PatchSchema(Schema, omit_defaults=True):
    """Base for PATCH bodies: fields default to ``UNSET`` so "absent" differs from null."""

    def sent(self) -> dict[str, Any]:
        """The fields the client sent, by their Python names (null included: it clears),
        ready to be passed as keyword arguments whose absence means "unchanged"."""
        return {
            name: value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not msgspec.UNSET
        }
