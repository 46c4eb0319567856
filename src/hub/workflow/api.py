"""Public interface of the workflow context.

Everything another context may use of workflow lives here: the msgspec DTOs and the
integration events workflow publishes. Framework-free (import-linter forbids SQLAlchemy,
Litestar, dramatiq and Redis here), so a split-out workflow service can ship this module
unchanged as its client contract.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Protocol

import msgspec

from hub.identity.api import SettingChange
from hub.kernel.contract import idempotent
from hub.kernel.events import IntegrationEvent


class WorkflowSetting(msgspec.Struct, frozen=True, kw_only=True):
    """A workflow definition as configuration: its key and body (the ``definition`` of
    ``POST /workflows``)."""

    key: str
    definition: dict[str, Any]
    #: The published version it is (0 for one not published yet).
    version: int = 0


class DefinitionNames(msgspec.Struct, frozen=True, kw_only=True):
    """The names a definition is checked against when no organisation is at hand (a
    domain pack validated on its own): its roles, document types, custom fields (and
    which are dates) and workflow keys."""

    roles: frozenset[str] = frozenset()
    document_types: frozenset[str] = frozenset()
    custom_fields: frozenset[str] = frozenset()
    date_fields: frozenset[str] = frozenset()
    workflows: frozenset[str] = frozenset()
    #: Notification topic keys ``notify`` actions may name.
    topics: frozenset[str] = frozenset()


class WorkflowConfigApi(Protocol):
    """An organisation's workflow definitions as configuration (domain packs,
    export/import). Publishing a body equal to the newest version's changes nothing;
    another body becomes the next version (running instances keep theirs)."""

    @idempotent
    async def definition_problems(
        self, definition: Any, *, names: DefinitionNames, path: str
    ) -> list[tuple[str, str]]:
        """Every problem of the definition (``POST /workflows``'s validation) with
        ``names`` as the organisation's, as ``(path, message)``."""
        ...

    @idempotent
    async def latest_definitions(self, organisation_id: uuid.UUID) -> list[WorkflowSetting]:
        """The newest version of each of the organisation's workflows, by key."""
        ...

    async def put_definition(
        self, organisation_id: uuid.UUID, workflow: WorkflowSetting, *, actor_id: uuid.UUID
    ) -> tuple[SettingChange, int]:
        """Publish the definition unless the newest version has the same body; the change
        and the version now newest."""
        ...


class WorkflowPublished(IntegrationEvent, kw_only=True, frozen=True):
    """A new version of an organisation's workflow definition was published."""

    event_type: ClassVar[str] = "workflow.definition.published"
    aggregate_field: ClassVar[str | None] = "organisation_id"
    key: str
    version: int


class InstanceEvent(IntegrationEvent, kw_only=True, frozen=True):
    aggregate_field: ClassVar[str | None] = "instance_id"
    instance_id: uuid.UUID
    workflow_key: str
    workflow_version: int
    document_id: uuid.UUID | None = None


class InstanceStarted(InstanceEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "workflow.instance.started"
    state: str


class InstanceTransitioned(InstanceEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "workflow.instance.transitioned"
    transition: str
    from_state: str
    to_state: str
    #: The instance's version after the transition.
    version: int


class InstanceCompleted(InstanceEvent, kw_only=True, frozen=True):
    """The instance reached a final state."""

    event_type: ClassVar[str] = "workflow.instance.completed"
    state: str


class InstanceCancelled(InstanceEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "workflow.instance.cancelled"
    state: str


class MessageCorrelated(InstanceEvent, kw_only=True, frozen=True):
    """A message was correlated to the instance and took ``transition`` (the
    ``workflow.instance.transitioned`` of the same step follows), or started it
    (``transition`` None, beside ``workflow.instance.started``); ``message`` its name."""

    event_type: ClassVar[str] = "workflow.message.correlated"
    message: str
    transition: str | None


class InstanceMigrated(InstanceEvent, kw_only=True, frozen=True):
    """An instance moved to another version of its workflow (``workflow_version``: the
    new one); ``state`` is where it landed, ``from_state`` where it was."""

    event_type: ClassVar[str] = "workflow.instance.migrated"
    from_version: int
    from_state: str
    state: str


class EffectFailed(InstanceEvent, kw_only=True, frozen=True):
    """An effect on another context failed for good (an incident): ``kind`` (notify,
    setTags…) and ``error``, the other context's refusal. Someone with
    ``workflow.incidents.manage`` may run it again once the cause is fixed."""

    event_type: ClassVar[str] = "workflow.effect.failed"
    effect_id: uuid.UUID
    kind: str
    error: str


class EffectRetried(InstanceEvent, kw_only=True, frozen=True):
    """A failed effect was queued to run again (``retries``: how many times so far;
    ``previous_error``: why it had failed)."""

    event_type: ClassVar[str] = "workflow.effect.retried"
    effect_id: uuid.UUID
    kind: str
    retries: int
    previous_error: str


class EffectDismissed(InstanceEvent, kw_only=True, frozen=True):
    """Someone gave up on a failed effect (``reason``: theirs; ``error``: why it had
    failed). It never runs; the instance is not changed."""

    event_type: ClassVar[str] = "workflow.effect.dismissed"
    effect_id: uuid.UUID
    kind: str
    error: str
    reason: str


class SlaStepReached(InstanceEvent, kw_only=True, frozen=True):
    """A timer of the state's SLA ladder fired (``kind``: remind, escalate, transition;
    ``percent``: of the SLA; 100 and more is a breach)."""

    event_type: ClassVar[str] = "workflow.sla.step_reached"
    state: str
    kind: str
    percent: int
