"""The audit trail over HTTP: ``GET /audit``, ``/audit/export``, ``/audit/verify`` and
``POST /audit/checkpoints``.

``organisationId`` names the organisation's chain (members with ``content.audit.read``:
owners, admins, auditors; others 403, outsiders 404); without it the platform chain is
meant, for platform administrators only (403 otherwise).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter
from litestar.response import Stream

from hub.content.domain.audit import timestamp
from hub.content.schemas import AuditCheckpointOut, AuditEntryOut, AuditVerificationOut
from hub.content.services.audit import AuditFilter, AuditLog
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.security import Principal
from hub.kernel.web import BEARER_OR_KEY, Cursor, Limit, page_as, to_schema

OrganisationOrPlatform = Annotated[
    uuid.UUID | None,
    QueryParameter(
        name="organisationId",
        required=False,
        description="The organisation whose chain is meant; omitted: the platform chain "
        "(platform administrators only).",
    ),
]
_ActorId = Annotated[uuid.UUID | None, QueryParameter(name="actorId", required=False)]
_Text = Annotated[str | None, QueryParameter(required=False, min_length=1, max_length=200)]
_EntityType = Annotated[
    str | None, QueryParameter(name="entityType", required=False, min_length=1, max_length=64)
]
_EntityId = Annotated[
    str | None, QueryParameter(name="entityId", required=False, min_length=1, max_length=200)
]
_Correlation = Annotated[
    str | None,
    QueryParameter(name="correlationId", required=False, min_length=1, max_length=200),
]
_From = Annotated[
    datetime | None,
    QueryParameter(name="occurredFrom", required=False, description="Inclusive."),
]
_To = Annotated[
    datetime | None,
    QueryParameter(name="occurredTo", required=False, description="Exclusive."),
]

_EXPORT_RESPONSES: dict[int, ResponseSpec] = {
    200: ResponseSpec(
        bytes,
        # two types by `format` (one ResponseSpec holds one): the description names both
        media_type="*/*",
        description="`application/x-ndjson`, one JSON entry per line (`format=ndjson`), or "
        "`text/csv; charset=utf-8` with a header row (`format=csv`); oldest first.",
    ),
}
#: CSV columns, in order (the wire names of the list items).
CSV_COLUMNS = (
    "id",
    "seq",
    "occurredAt",
    "recordedAt",
    "organisationId",
    "actorId",
    "actorType",
    "action",
    "entityType",
    "entityId",
    "correlationId",
    "requestId",
    "clientAddress",
    "summary",
    "hash",
)
#: A spreadsheet runs a cell starting with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: a leading formula character gets a ``'``."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _filters(**kw: Any) -> AuditFilter:
    return AuditFilter(**kw)


def _wire(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(to_schema(row, AuditEntryOut))
    return out


async def _ndjson(rows: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    encoder = msgspec.json.Encoder()
    async for row in rows:
        yield encoder.encode(_wire(row)) + b"\n"


async def _csv(rows: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    async for row in rows:
        wire = _wire(row)
        cells = []
        for column in CSV_COLUMNS:
            value = wire.get(column)
            if value is None:
                cells.append("")
            elif column == "summary":
                cells.append(csv_safe(msgspec.json.encode(value).decode()))
            else:
                cells.append(csv_safe(str(value)))
        writer.writerow(cells)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


class AuditController(Controller):
    path = "/audit"
    tags = ["Content: audit trail"]
    security = BEARER_OR_KEY

    @get(
        "",
        operation_id="listAuditEntries",
        summary="The audit trail, newest first, filtered by actor, entity, action, time",
        description="Needs content.audit.read in the organisation (owners, admins, "
        "auditors); without `organisationId`, the platform chain (platform administrators).",
        opt=problems(403, 404),
    )
    async def list_entries(
        self,
        principal: NamedDependency[Principal],
        audit_log: NamedDependency[AuditLog],
        organisation_id: OrganisationOrPlatform = None,
        actor_id: _ActorId = None,
        entity_type: _EntityType = None,
        entity_id: _EntityId = None,
        action: _Text = None,
        correlation_id: _Correlation = None,
        occurred_from: _From = None,
        occurred_to: _To = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[AuditEntryOut]:
        page = await audit_log.entries(
            principal,
            organisation_id,
            _filters(
                actor_id=actor_id,
                entity_type=entity_type,
                entity_id=entity_id,
                action=action,
                correlation_id=correlation_id,
                occurred_from=occurred_from,
                occurred_to=occurred_to,
            ),
            limit=limit,
            cursor=cursor,
        )
        return page_as(page, AuditEntryOut)

    @get(
        "/export",
        operation_id="exportAuditEntries",
        summary="The audit trail streamed as NDJSON or CSV (same filters), oldest first",
        description="CSV cells starting with `=`, `+`, `-` or `@` are prefixed with `'` so "
        "a spreadsheet never runs them.",
        responses=_EXPORT_RESPONSES,
        opt=problems(403, 404),
    )
    async def export(
        self,
        principal: NamedDependency[Principal],
        audit_log: NamedDependency[AuditLog],
        organisation_id: OrganisationOrPlatform = None,
        format: Annotated[Literal["ndjson", "csv"], QueryParameter(required=False)] = "ndjson",
        actor_id: _ActorId = None,
        entity_type: _EntityType = None,
        entity_id: _EntityId = None,
        action: _Text = None,
        correlation_id: _Correlation = None,
        occurred_from: _From = None,
        occurred_to: _To = None,
    ) -> Stream:
        rows = await audit_log.export(
            principal,
            organisation_id,
            _filters(
                actor_id=actor_id,
                entity_type=entity_type,
                entity_id=entity_id,
                action=action,
                correlation_id=correlation_id,
                occurred_from=occurred_from,
                occurred_to=occurred_to,
            ),
        )
        stamp = timestamp(audit_log.clock())[:10]
        if format == "csv":
            return Stream(
                _csv(rows),
                media_type="text/csv",  # Litestar adds the charset
                headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
            )
        return Stream(
            _ndjson(rows),
            media_type="application/x-ndjson",
            headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.ndjson"'},
        )

    @get(
        "/verify",
        operation_id="verifyAuditChain",
        summary="Recompute the chain's hashes and check its signed checkpoints",
        description="`ok` false names the first broken entry (`firstBrokenEntryId`) and "
        "why (`reason`).",
        opt=problems(403, 404),
    )
    async def verify(
        self,
        principal: NamedDependency[Principal],
        audit_log: NamedDependency[AuditLog],
        organisation_id: OrganisationOrPlatform = None,
    ) -> AuditVerificationOut:
        return to_schema(
            await audit_log.verify_for(principal, organisation_id), AuditVerificationOut
        )

    @post(
        "/checkpoints",
        status_code=201,
        operation_id="createAuditCheckpoint",
        summary="Sign the chain's head now (organisation admins; platform admins)",
        description="Needs content.admin in the organisation; without `organisationId` the "
        "platform chain (platform administrators). A scheduled job signs every chain that "
        "grew, hourly.",
        opt=problems(403, 404),
    )
    async def checkpoint(
        self,
        principal: NamedDependency[Principal],
        audit_log: NamedDependency[AuditLog],
        organisation_id: OrganisationOrPlatform = None,
    ) -> AuditCheckpointOut:
        made = await audit_log.checkpoint_for(principal, organisation_id)
        return to_schema(made, AuditCheckpointOut)
