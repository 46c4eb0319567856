"""/auth/me/export and DELETE /auth/me: a person's data (GDPR Articles 15, 17 and 20)."""

from __future__ import annotations

from litestar import Response, delete, get
from litestar.di import NamedDependency

from hub.identity.deps import PeopleController
from hub.identity.schemas.personal_data import ErasureOut, PersonalDataArchive
from hub.identity.services.personal_data import AccountErasure, PersonalDataArchives
from hub.kernel.openapi import problems
from hub.kernel.personal_data import PersonalDataExport
from hub.kernel.ratelimit import rate_limit
from hub.kernel.security import Principal

ERASED = ErasureOut(
    status="erased",
    detail="Your account is deleted. The other parts of the hub remove or pseudonymise "
    "what they hold of you within moments.",
)


class PersonalDataController(PeopleController):
    path = "/auth/me"
    tags = ["Identity: personal data"]

    @get(
        "/export",
        operation_id="exportPersonalData",
        summary="Everything the hub holds about the caller, as one JSON archive",
        description="GDPR Articles 15 and 20: each context's part under `contexts` "
        "(identity, content, communication, workflow). A person's session only (an API "
        "key gets 403 `session_required`); 503 when a context cannot be reached (an "
        "incomplete archive is never answered).",
        opt={**rate_limit("auth"), **problems(503)},
    )
    async def export(
        self,
        principal: NamedDependency[Principal],
        personal_data: NamedDependency[PersonalDataExport],
        personal_data_archives: NamedDependency[PersonalDataArchives],
    ) -> Response[PersonalDataArchive]:
        archive = await personal_data_archives.archive(principal, personal_data)
        return Response(
            PersonalDataArchive(**archive),
            headers={
                "Content-Disposition": 'attachment; filename="hub-personal-data.json"',
                "Cache-Control": "no-store",
            },
        )

    @delete(
        status_code=202,
        operation_id="eraseAccount",
        summary="Erase the caller's account and their data in every context",
        description="GDPR Article 17. Needs a recent sign-in (403 "
        "`reauthentication_required`: call /auth/reauthenticate). 409 `sole_owner` when "
        "the caller is the only owner of an organisation (`extra.organisationIds`): hand "
        "it over first. The account is gone at once; documents the caller owns go to an "
        "owner of their organisation, messages become tombstones, audit entries are "
        "pseudonymised (docs/personal-data.md).",
        opt={**rate_limit("auth"), **problems(409)},
    )
    async def erase(
        self,
        principal: NamedDependency[Principal],
        account_erasure: NamedDependency[AccountErasure],
    ) -> ErasureOut:
        await account_erasure.erase(principal)
        return ERASED
