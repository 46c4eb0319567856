"""/orgs/{orgId}/erasure-policy: what becomes of a departed owner's documents when they
erase their account (docs/personal-data.md)."""

from __future__ import annotations

import uuid

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hub.content.domain.access import ADMIN, READ
from hub.content.schemas import ErasurePolicyIn, ErasurePolicyOut
from hub.content.services.erasure import ErasurePolicies
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY


class ErasurePolicyController(Controller):
    path = "/orgs/{org_id:uuid}/erasure-policy"
    tags = ["Content: documents"]
    security = BEARER_OR_KEY

    @get(
        operation_id="getErasurePolicy",
        summary="What becomes of the documents of an owner who erases their account",
        guards=[permission(READ)],
    )
    async def get_policy(
        self, org_id: FromPath[uuid.UUID], erasure_policies: NamedDependency[ErasurePolicies]
    ) -> ErasurePolicyOut:
        return ErasurePolicyOut(departed_owner_documents=await erasure_policies.policy(org_id))

    @put(
        operation_id="setErasurePolicy",
        summary="Set it (content.admin)",
        description="`transfer` (the default): the documents go to an owner of the "
        "organisation and are kept. `trash`: they go to an owner and into the trash, "
        "where the trash retention deletes them.",
        guards=[permission(ADMIN)],
    )
    async def set_policy(
        self,
        org_id: FromPath[uuid.UUID],
        data: JSONBody[ErasurePolicyIn],
        erasure_policies: NamedDependency[ErasurePolicies],
    ) -> ErasurePolicyOut:
        policy = await erasure_policies.set_policy(org_id, data.departed_owner_documents)
        return ErasurePolicyOut(departed_owner_documents=policy)
