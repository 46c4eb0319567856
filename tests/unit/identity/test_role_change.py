"""The role-change decision (``domain/role_change.py``), without a database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest

from hub.identity.domain import role_change
from hub.identity.domain.roles import ADMIN, MEMBER, OWNER, grant_of
from hub.kernel.errors import Conflict, Forbidden

CATALOGUE = [
    "content.documents.read",
    "content.documents.write",
    "identity.members.manage",
    "identity.owners.manage",
]


@dataclass(frozen=True)
class Role:
    builtin: str | None = None
    permissions: tuple[str, ...] = ()
    id: uuid.UUID = field(default_factory=uuid.uuid4)


def allows(*builtins: str | None, extra: tuple[str, ...] = ()) -> object:
    grants = [grant_of(b, ()) for b in builtins if b] + [grant_of(None, extra)]
    return lambda key: any(g.matches(key) for g in grants)


def test_nothing_changes_when_wanted_equals_held() -> None:
    member = Role(MEMBER)
    change = role_change.decide(
        held=[member], wanted=[member], actor_allows=allows(ADMIN), catalogue=CATALOGUE, owners=1
    )
    assert change.added == []
    assert change.removed == []
    assert not change.changes_anything


def test_added_and_removed_roles_are_computed() -> None:
    member, writer = Role(MEMBER), Role(permissions=("content.documents.write",))
    change = role_change.decide(
        held=[member], wanted=[writer], actor_allows=allows(ADMIN), catalogue=CATALOGUE, owners=2
    )
    assert change.added == [writer]
    assert change.removed == [member]


def test_an_admin_cannot_hand_out_ownership() -> None:
    with pytest.raises(Forbidden) as err:
        role_change.decide(
            held=[Role(MEMBER)],
            wanted=[Role(OWNER)],
            actor_allows=allows(ADMIN),
            catalogue=CATALOGUE,
            owners=1,
        )
    assert err.value.code == "permission_not_held"
    assert err.value.extra == {"permissions": ["identity.owners.manage"]}


def test_a_custom_role_holder_cannot_take_away_more_than_they_hold() -> None:
    writer = Role(permissions=("content.documents.write",))
    with pytest.raises(Forbidden):
        role_change.decide(
            held=[writer],
            wanted=[],
            actor_allows=allows(extra=("identity.members.manage",)),
            catalogue=CATALOGUE,
            owners=1,
        )


def test_the_last_owner_cannot_be_demoted_but_one_of_two_can() -> None:
    owner = Role(OWNER)
    with pytest.raises(Conflict) as err:
        role_change.decide(
            held=[owner],
            wanted=[Role(ADMIN)],
            actor_allows=allows(OWNER),
            catalogue=CATALOGUE,
            owners=1,
        )
    assert err.value.code == "last_owner"
    change = role_change.decide(
        held=[owner], wanted=[], actor_allows=allows(OWNER), catalogue=CATALOGUE, owners=2
    )
    assert change.removed == [owner]
