"""An organisation's messaging policy (``domain.messaging``): stored rules, replaced
whole by ``PUT /orgs/{orgId}/messaging-policy`` (or a pack), and the check conversations
run before gathering people."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, delete, insert, select

from hub.communication.api import MessagingPolicyChanged
from hub.communication.domain.messaging import MessagingPolicy, check_rules, role_key
from hub.communication.models import MessagingRule
from hub.identity.api import IdentityApi
from hub.kernel.clock import Clock
from hub.kernel.problems import field_invalid
from hub.kernel.store import Store

rules_t = cast(Table, MessagingRule.__table__)


class MessagingPolicies:
    def __init__(self, store: Store, clock: Clock, identity: IdentityApi) -> None:
        self.store, self.clock, self.identity = store, clock, identity

    async def rules(self, organisation_id: uuid.UUID) -> dict[str, list[str]]:
        """role -> roles its holders may message, by role (sorted)."""
        t = rules_t
        rows = await self.store.all(
            select(t.c.role, t.c.may_message)
            .where(t.c.organisation_id == organisation_id)
            .order_by(t.c.role)
        )
        return {r.role: list(r.may_message) for r in rows}

    async def policy(self, organisation_id: uuid.UUID) -> MessagingPolicy:
        rules = await self.rules(organisation_id)
        return MessagingPolicy({k: frozenset(v) for k, v in rules.items()})

    async def role_names(self, organisation_id: uuid.UUID) -> set[str]:
        return {role_key(r.name) for r in await self.identity.roles_of(organisation_id)}

    async def replace(
        self, organisation_id: uuid.UUID, rules: Sequence[tuple[str, Sequence[str]]]
    ) -> dict[str, list[str]]:
        """Check the rules against the organisation's roles (422 naming the field) and
        store them in place of the previous ones; an identical set writes nothing."""
        checked = check_rules(rules, await self.role_names(organisation_id))
        if checked == await self.rules(organisation_id):
            return checked
        now = self.clock()
        t = rules_t
        async with self.store.uow() as uow:
            await uow.session.execute(delete(t).where(t.c.organisation_id == organisation_id))
            if checked:
                await uow.session.execute(
                    insert(t),
                    [
                        {
                            "organisation_id": organisation_id,
                            "role": role,
                            "may_message": targets,
                            "updated_at": now,
                        }
                        for role, targets in checked.items()
                    ],
                )
            uow.publish(MessagingPolicyChanged(rules=checked, organisation_id=organisation_id))
            await uow.commit()
        return checked

    async def check(
        self,
        organisation_id: uuid.UUID,
        user_ids: Sequence[uuid.UUID],
        field: str,
        *,
        with_: Sequence[uuid.UUID] = (),
    ) -> None:
        """403 ``messaging_not_allowed`` naming ``field[i]`` when the policy forbids two
        of the people ``user_ids`` would gather (with those already there, ``with_``: the
        caller, a group's participants) to share a conversation. No rule: one query."""
        policy = await self.policy(organisation_id)
        if not policy.rules:
            return
        roles: dict[uuid.UUID, set[str]] = {}
        for user in dict.fromkeys([*with_, *user_ids]):
            member = await self.identity.membership(organisation_id, user, api_key_id=None)
            roles[user] = {role_key(r.name) for r in member.roles} if member else set()
        refused = policy.refused_pair(roles)
        if refused is None:
            return
        given = list(user_ids)
        a, b = refused
        index = given.index(b) if b in given else given.index(a) if a in given else 0
        raise field_invalid(
            f"{field}[{index}]",
            "the organisation's messaging rules do not let these people talk together",
            code="messaging_not_allowed",
            status_code=403,
        )
