"""Publishing and reading workflow definitions (every publish is a new version)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text

from hub.communication.api import CommunicationApi
from hub.content.api import ContentApi
from hub.identity.api import IdentityApi
from hub.kernel.clock import Clock
from hub.kernel.errors import FieldError, Invalid
from hub.kernel.events import EVENT_TYPES
from hub.kernel.pagination import Page, decode_cursor, page_of
from hub.kernel.problems import field_invalid, invalid_cursor, not_found
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import Tenancy
from hub.workflow import repositories
from hub.workflow.api import WorkflowPublished
from hub.workflow.domain.definitions import Catalogue, parse
from hub.workflow.domain.permissions import DEFINITIONS_MANAGE
from hub.workflow.domain.yaml_text import parse_text
from hub.workflow.models import WorkflowDefinition
from hub.workflow.services.schedules import ScheduleService


@dataclass(frozen=True)
class PublishedDefinition:
    id: uuid.UUID
    organisation_id: uuid.UUID
    key: str
    version: int
    definition: dict[str, Any]
    published_by: uuid.UUID | None
    published_at: datetime


def as_published(row: Any) -> PublishedDefinition:
    return PublishedDefinition(
        id=row.id,
        organisation_id=row.organisation_id,
        key=row.key,
        version=row.version,
        definition=row.body,
        published_by=row.published_by,
        published_at=row.published_at,
    )


class DefinitionService:
    def __init__(
        self,
        store: Store,
        tenancy: Tenancy,
        identity: IdentityApi,
        clock: Clock,
        permission_keys: Callable[[], frozenset[str]],
        content: ContentApi,
        schedules: ScheduleService,
        communication: CommunicationApi,
    ) -> None:
        self.store, self.tenancy, self.identity = store, tenancy, identity
        self.clock, self.permission_keys, self.content = clock, permission_keys, content
        self.schedules, self.communication = schedules, communication

    async def catalogue(self, organisation_id: uuid.UUID, key: str) -> Catalogue:
        """The names a definition of ``key`` may use in the organisation."""
        org = organisation_id
        roles = await self.identity.roles_of(org)
        names = {r.name.lower() for r in roles} | {str(r.id) for r in roles}
        taxonomy = await self.content.taxonomy(org)
        types = {t.name.lower() for t in taxonomy.document_types}
        types |= {str(t.id) for t in taxonomy.document_types}
        return Catalogue(
            roles=frozenset(names),
            permissions=self.permission_keys(),
            events=frozenset(EVENT_TYPES.names()),
            document_types=frozenset(types),
            custom_fields=frozenset(f.key for f in taxonomy.custom_fields),
            date_fields=frozenset(f.key for f in taxonomy.custom_fields if f.type == "date"),
            workflows=frozenset(
                {key, *await repositories.definition_keys(self.store, organisation_id)}
            ),
            topics=frozenset(await self.communication.topic_keys(org)),
        )

    async def publish(
        self, principal: Principal, organisation_id: uuid.UUID, key: str, body: Any
    ) -> PublishedDefinition:
        """``POST /workflows``: validate everything (422 listing every problem), then store
        the next version of ``key``. Running instances keep the version they started on."""
        await self.tenancy.authorise(principal, organisation_id, DEFINITIONS_MANAGE)
        return await self.publish_as(principal.user_id, organisation_id, key, body)

    async def publish_as(
        self, actor_id: uuid.UUID | None, organisation_id: uuid.UUID, key: str, body: Any
    ) -> PublishedDefinition:
        """Publish for an actor authorised elsewhere (a domain pack's administrator)."""
        if isinstance(body, str):
            body, why = parse_text(body)
            if why is not None:
                raise field_invalid("definition", why, code="invalid_definition")
        definition, problems = parse(body, await self.catalogue(organisation_id, key))
        if definition is None:
            raise Invalid(
                f"The definition has {len(problems)} problem(s).",
                code="invalid_definition",
                errors=[FieldError(field=p.path, message=p.message) for p in problems],
            )
        async with self.store.uow() as uow:
            # One publisher per (organisation, key) at a time: versions stay gapless.
            await uow.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                {"k": f"workflow.definition:{organisation_id}:{key}"},
            )
            top = await uow.session.scalar(
                select(func.max(WorkflowDefinition.version)).where(
                    WorkflowDefinition.organisation_id == organisation_id,
                    WorkflowDefinition.key == key,
                )
            )
            row = WorkflowDefinition(
                organisation_id=organisation_id,
                key=key,
                version=int(top or 0) + 1,
                body=definition.body,
                published_by=actor_id,
                published_at=self.clock(),
            )
            uow.session.add(row)
            await uow.session.flush()
            await self.schedules.plan_published(uow, row, definition)
            uow.publish(
                WorkflowPublished(organisation_id=organisation_id, key=key, version=row.version)
            )
            await uow.commit()
        return as_published(row)

    async def list_latest(
        self, organisation_id: uuid.UUID, *, limit: int, cursor: str | None
    ) -> Page[PublishedDefinition]:
        after = None
        if cursor is not None:
            (after_raw,) = decode_cursor(cursor, 1)
            if not isinstance(after_raw, str):
                raise invalid_cursor()
            after = after_raw
        rows = await repositories.latest_definitions(
            self.store, organisation_id, after=after, limit=limit
        )
        return page_of([as_published(r) for r in rows], limit, lambda d: (d.key,))

    async def latest(self, organisation_id: uuid.UUID, key: str) -> PublishedDefinition:
        row = await repositories.latest_definition(self.store, organisation_id, key)
        if row is None:
            raise not_found("workflow")
        return as_published(row)

    async def versions(
        self, organisation_id: uuid.UUID, key: str, *, limit: int, cursor: str | None
    ) -> Page[PublishedDefinition]:
        before = None
        if cursor is not None:
            (before_raw,) = decode_cursor(cursor, 1)
            if not isinstance(before_raw, int) or isinstance(before_raw, bool):
                raise invalid_cursor()
            before = before_raw
        rows = await repositories.definition_versions(
            self.store, organisation_id, key, before=before, limit=limit
        )
        if not rows and before is None:
            raise not_found("workflow")
        return page_of([as_published(r) for r in rows], limit, lambda d: (d.version,))
