"""Replacing a member's roles: what changes, and whether the actor may make the change.

Pure: the service loads the actor's membership, the target's held roles, the wanted roles
and the organisation's owner count (under the organisation's lock), asks :func:`decide`,
then writes what it returns. Two rules: nobody hands out or takes away a permission they
do not hold themselves (no escalation), and an organisation keeps at least one owner.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from hub.identity.domain.roles import OWNER, expand, grant_of
from hub.kernel.errors import Conflict, Forbidden
from hub.kernel.problems import refusal


class RoleLike(Protocol):
    @property
    def id(self) -> uuid.UUID: ...

    @property
    def builtin(self) -> str | None: ...

    @property
    def permissions(self) -> Sequence[str]: ...


R = TypeVar("R", bound=RoleLike)


@dataclass(frozen=True)
class RoleChange(Generic[R]):
    added: list[R]
    removed: list[R]

    @property
    def changes_anything(self) -> bool:
        return bool(self.added or self.removed)


last_owner = refusal(
    Conflict,
    "An organisation needs at least one owner: make someone else an owner first.",
    code="last_owner",
)


def permission_not_held(missing: Iterable[str]) -> Forbidden:
    return Forbidden(
        "You can only grant or take away permissions you hold yourself.",
        code="permission_not_held",
        extra={"permissions": sorted(missing)},
    )


def granted_by(roles: Iterable[RoleLike], catalogue: Iterable[str]) -> set[str]:
    """Every catalogue key the roles grant (what handing them out hands out)."""
    keys = list(catalogue)
    out: set[str] = set()
    for role in roles:
        out.update(expand(grant_of(role.builtin, role.permissions), keys))
    return out


def decide(
    *,
    held: Sequence[R],
    wanted: Sequence[R],
    actor_allows: Callable[[str], bool],
    catalogue: Iterable[str],
    owners: int,
) -> RoleChange[R]:
    """The roles to add and remove to go from ``held`` to ``wanted``; refuses an
    escalation (403 ``permission_not_held``) and demoting the last owner (409)."""
    wanted_ids, held_ids = {r.id for r in wanted}, {r.id for r in held}
    added = [r for r in wanted if r.id not in held_ids]
    removed = [r for r in held if r.id not in wanted_ids]
    missing = {p for p in granted_by([*added, *removed], catalogue) if not actor_allows(p)}
    if missing:
        raise permission_not_held(missing)
    if any(r.builtin == OWNER for r in removed) and owners <= 1:
        raise last_owner()
    return RoleChange(added=added, removed=removed)
