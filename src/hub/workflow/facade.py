"""In-process implementation of :class:`hub.workflow.api.WorkflowConfigApi`: definitions
as configuration, through :class:`DefinitionService` (its validation, versions, events)."""

from __future__ import annotations

import uuid
from typing import Any

from hub.identity.api import SettingChange
from hub.kernel.events import EVENT_TYPES
from hub.kernel.store import Store
from hub.workflow import repositories
from hub.workflow.api import DefinitionNames, WorkflowConfigApi, WorkflowSetting
from hub.workflow.domain.definitions import Catalogue, parse
from hub.workflow.services.definitions import DefinitionService

#: Enough to read every workflow an organisation keeps.
_MAX_WORKFLOWS = 10_000


class WorkflowConfigFacade(WorkflowConfigApi):
    def __init__(self, store: Store, definitions: DefinitionService) -> None:
        self.store, self.definitions = store, definitions

    async def definition_problems(
        self, definition: Any, *, names: DefinitionNames, path: str
    ) -> list[tuple[str, str]]:
        catalogue = Catalogue(
            roles=frozenset(r.lower() for r in names.roles),
            permissions=self.definitions.permission_keys(),
            events=frozenset(EVENT_TYPES.names()),
            document_types=frozenset(t.lower() for t in names.document_types),
            custom_fields=names.custom_fields,
            date_fields=names.date_fields,
            workflows=names.workflows,
            topics=names.topics,
        )
        _, problems = parse(definition, catalogue)
        return [(f"{path}{p.path.removeprefix('definition')}", p.message) for p in problems]

    async def latest_definitions(self, organisation_id: uuid.UUID) -> list[WorkflowSetting]:
        rows = await repositories.latest_definitions(
            self.store, organisation_id, after=None, limit=_MAX_WORKFLOWS
        )
        return [WorkflowSetting(key=r.key, definition=r.body, version=r.version) for r in rows]

    async def put_definition(
        self, organisation_id: uuid.UUID, workflow: WorkflowSetting, *, actor_id: uuid.UUID
    ) -> tuple[SettingChange, int]:
        latest = await repositories.latest_definition(self.store, organisation_id, workflow.key)
        if latest is not None:
            definition, _ = parse(
                workflow.definition,
                await self.definitions.catalogue(organisation_id, workflow.key),
            )
            if definition is not None and definition.body == latest.body:
                return "unchanged", int(latest.version)
        published = await self.definitions.publish_as(
            actor_id, organisation_id, workflow.key, workflow.definition
        )
        return ("created" if latest is None else "updated"), published.version
