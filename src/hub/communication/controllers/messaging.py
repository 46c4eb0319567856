"""/orgs/{orgId}/messaging-policy: who may message whom in the organisation, by role
(``domain.messaging``). Members read it (it decides whom they may talk to); replacing it
needs ``communication.settings.manage``. Outside the organisation: 404."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from hub.communication.domain.messaging import MAX_RULES, MAX_TARGETS
from hub.communication.domain.permissions import SETTINGS_MANAGE
from hub.communication.services.messaging import MessagingPolicies
from hub.kernel.openapi import problems
from hub.kernel.structs import Schema
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY

RoleName = Annotated[str, Meta(min_length=1, max_length=100)]


class MessagingRuleIO(Schema):
    #: A role of the organisation whose holders are restricted.
    role: RoleName
    #: The roles they may message (at least one).
    may_message: Annotated[list[RoleName], Meta(min_length=1, max_length=MAX_TARGETS)]


class MessagingPolicyIO(Schema):
    rules: Annotated[list[MessagingRuleIO], Meta(max_length=MAX_RULES)] = []

    example: ClassVar[dict[str, Any]] = {
        "rules": [{"role": "patient", "mayMessage": ["practitioner", "staff"]}]
    }


def _out(rules: dict[str, list[str]]) -> MessagingPolicyIO:
    return MessagingPolicyIO(
        rules=[MessagingRuleIO(role=r, may_message=list(t)) for r, t in rules.items()]
    )


_RULES = (
    "A member every one of whose roles has a rule may share a conversation only with "
    "people holding one of the roles those rules allow (`POST /conversations`, `POST "
    "/conversations/{id}/participants`: 403 `messaging_not_allowed` naming the person); "
    "a member holding any role without a rule (owners, administrators…) is not "
    "restricted. Role names are the organisation's (422 naming `rules[i].role` or "
    "`rules[i].mayMessage[j]` otherwise). No rule: anyone messages anyone. Existing "
    "conversations are left as they are."
)


class MessagingPolicyController(Controller):
    path = "/orgs/{org_id:uuid}/messaging-policy"
    tags = ["Communication: conversations"]
    security = BEARER_OR_KEY

    @get(
        operation_id="getMessagingPolicy",
        summary="Who may message whom in the organisation, by role",
        description=_RULES,
        guards=[permission(None)],
    )
    async def get_policy(
        self, org_id: FromPath[uuid.UUID], messaging_policies: NamedDependency[MessagingPolicies]
    ) -> MessagingPolicyIO:
        return _out(await messaging_policies.rules(org_id))

    @put(
        operation_id="setMessagingPolicy",
        summary="Replace the messaging rules (communication.settings.manage)",
        description=_RULES,
        opt=problems(422),
        guards=[permission(SETTINGS_MANAGE)],
    )
    async def put_policy(
        self,
        org_id: FromPath[uuid.UUID],
        data: JSONBody[MessagingPolicyIO],
        messaging_policies: NamedDependency[MessagingPolicies],
    ) -> MessagingPolicyIO:
        rules = [(r.role, r.may_message) for r in data.rules]
        return _out(await messaging_policies.replace(org_id, rules))
