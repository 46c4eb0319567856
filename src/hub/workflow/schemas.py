"""HTTP bodies of the workflow context (camelCase on the wire)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import Meta

from hub.kernel.errors import FieldError
from hub.kernel.pagination import Page
from hub.kernel.structs import Schema
from hub.workflow.domain.definitions import KEY_PATTERN, NAME_PATTERN
from hub.workflow.domain.yaml_text import MAX_TEXT

WorkflowKey = Annotated[str, Meta(pattern=KEY_PATTERN, max_length=64)]
TransitionName = Annotated[str, Meta(pattern=NAME_PATTERN, max_length=64)]
#: The longest a message is kept for an instance that does not wait for it yet.
MAX_TTL_SECONDS = 7 * 24 * 3600

_EXAMPLE_DEFINITION: dict[str, Any] = {
    "states": [
        {"name": "review", "initial": True, "slaMinutes": 2880},
        {"name": "approved", "final": True},
        {"name": "rejected", "final": True},
    ],
    "transitions": [
        {"name": "approve", "from": ["review"], "to": "approved", "roles": ["admin"]},
        {
            "name": "reject",
            "from": ["review"],
            "to": "rejected",
            "form": [{"name": "reason", "required": True}],
        },
    ],
}


class WorkflowIn(Schema):
    organisation_id: uuid.UUID
    key: WorkflowKey
    #: States, transitions and actions (see docs/workflow.md) as an object, or the same as
    #: YAML (or JSON) text; checked as a whole, every problem listed in one 422.
    definition: dict[str, Any] | Annotated[str, Meta(max_length=MAX_TEXT)]

    example: ClassVar[dict[str, Any]] = {
        "organisationId": "0190a1b2-0000-7000-8000-000000000001",
        "key": "invoice-approval",
        "definition": _EXAMPLE_DEFINITION,
    }


class WorkflowOut(Schema):
    id: uuid.UUID
    organisation_id: uuid.UUID
    key: str
    version: int
    definition: dict[str, Any]
    published_by: uuid.UUID | None
    published_at: datetime


WorkflowPage = Page[WorkflowOut]


class SubjectIn(Schema):
    """Exactly one of ``documentId`` (a document of the organisation) and ``reference``
    (anything outside Hub, e.g. an order number)."""

    document_id: uuid.UUID | None = None
    reference: Annotated[str, Meta(min_length=1, max_length=500)] | None = None


class InstanceIn(Schema):
    organisation_id: uuid.UUID
    workflow_key: WorkflowKey
    subject: SubjectIn
    variables: dict[str, Any] = {}


class SubjectOut(Schema):
    document_id: uuid.UUID | None
    reference: str | None


class InstanceOut(Schema):
    id: uuid.UUID
    organisation_id: uuid.UUID
    workflow_key: str
    workflow_version: int
    state: str
    #: "active", "completed" or "cancelled".
    status: str
    #: The optimistic-concurrency counter a transition must name (``expectedVersion``).
    version: int
    subject: SubjectOut
    variables: dict[str, Any]
    started_by: uuid.UUID | None
    started_at: datetime
    state_entered_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    #: Transitions that may be taken directly from the current state (those a task's
    #: outcome takes are left out: complete the task instead; so are those a message
    #: takes).
    transitions: list[str]
    #: Messages the instance waits for in its current state (``POST
    #: /workflow-messages``).
    messages: list[str]


InstancePage = Page[InstanceOut]


class TransitionIn(Schema):
    transition: TransitionName
    expected_version: Annotated[int, Meta(ge=1)]
    #: Form data (e.g. ``reason``); conditions see it as ``data``.
    data: dict[str, Any] = {}


class CorrelationIn(Schema):
    """What the sender knows of the instance: every criterion given must hold (none: any
    instance of the organisation waiting for the message)."""

    workflow_key: WorkflowKey | None = None
    instance_id: uuid.UUID | None = None
    #: The subject's reference (an order number).
    reference: Annotated[str, Meta(min_length=1, max_length=500)] | None = None
    document_id: uuid.UUID | None = None
    #: Values the instance's variables hold (JSON containment: ``{"orderId": "4711"}``).
    variables: Annotated[dict[str, Any], Meta(max_length=20)] = {}


class MessageIn(Schema):
    organisation_id: uuid.UUID
    #: The ``message`` a transition of the definition names.
    name: Annotated[str, Meta(pattern=KEY_PATTERN, max_length=64)]
    correlation: CorrelationIn = msgspec.field(default_factory=CorrelationIn)
    #: Merged into the instance's variables; the step's ``data`` (form, condition).
    variables: dict[str, Any] = {}
    #: Move every instance waiting (at most 100 a call), not exactly one.
    every: bool = msgspec.field(default=False, name="all")
    #: When nothing waits and nothing starts: keep the message this long (at most 7
    #: days) for the first instance that comes to wait for it; 0: answer 404 instead.
    time_to_live_seconds: Annotated[int, Meta(ge=0, le=MAX_TTL_SECONDS)] = 0


class KeptMessageOut(Schema):
    """A message kept for an instance that does not wait for it yet."""

    id: uuid.UUID
    name: str
    #: The correlation it was sent with.
    workflow_key: str | None
    instance_id: uuid.UUID | None
    reference: str | None
    document_id: uuid.UUID | None
    match_variables: dict[str, Any]
    variables: dict[str, Any]
    #: Who sent it: the step's actor when it is delivered.
    sender_id: uuid.UUID | None
    sender_type: str
    created_at: datetime
    expires_at: datetime


KeptMessagePage = Page[KeptMessageOut]


class RefusedMessageOut(Schema):
    instance_id: uuid.UUID
    #: ``stale_instance``, ``condition_not_met``, ``form_incomplete``…
    code: str
    detail: str


class MessageOut(Schema):
    #: The instances the message moved, as they are now.
    instances: list[InstanceOut]
    #: With ``all``: instances that waited but could not take the step, and why.
    refused: list[RefusedMessageOut]
    #: More instances wait than one call moves: send the message again.
    more: bool
    #: The instances the message started (none waited; a ``{message}`` trigger).
    started: list[uuid.UUID]
    #: Kept for later (``timeToLiveSeconds``): nothing waited and nothing started.
    buffered: KeptMessageOut | None


class CancelIn(Schema):
    expected_version: Annotated[int, Meta(ge=1)]
    reason: Annotated[str, Meta(max_length=2000)] = ""


#: A workflow version number as a request names it: the column is a 32-bit integer, so a
#: larger number is refused by the schema (400), never sent to the database.
Version = Annotated[int, Meta(ge=1, le=2**31 - 1)]

#: Where a state of the version moved from lands in the target version (``{"review":
#: "first_review"}``); a state left out keeps its name.
StateMapping = Annotated[dict[str, Annotated[str, Meta(max_length=64)]], Meta(max_length=100)]


class MigrateIn(Schema):
    expected_version: Version
    #: The version of the same workflow to move to.
    to_version: Version
    state_mapping: StateMapping = {}


class MigrationsIn(Schema):
    organisation_id: uuid.UUID
    #: The version whose running instances move.
    from_version: Version
    to_version: Version
    #: As for one instance.
    state_mapping: StateMapping = {}
    #: Instances looked at in this call (each moved in its own transaction).
    limit: Annotated[int, Meta(ge=1, le=500)] = 100
    #: ``nextCursor`` of the previous call: resume after the instances it looked at.
    cursor: Annotated[str, Meta(min_length=1, max_length=200)] | None = None


class RefusedMigrationOut(Schema):
    instance_id: uuid.UUID
    #: ``migration_invalid`` (``errors`` say why) or ``stale_instance`` (it moved meanwhile).
    code: str
    detail: str
    errors: list[FieldError]


class MigrationsOut(Schema):
    #: Instances now on ``toVersion``.
    migrated: list[uuid.UUID]
    #: Instances that stay on ``fromVersion``, and why.
    refused: list[RefusedMigrationOut]
    #: Call again with it for the next instances; null when none are left.
    next_cursor: str | None


class HistoryOut(Schema):
    id: uuid.UUID
    instance_version: int
    #: "started", "transition", "cancelled" or "migrated" (``data``: ``fromVersion``,
    #: ``toVersion``).
    kind: str
    transition: str | None
    from_state: str | None
    to_state: str
    actor_id: uuid.UUID | None
    #: "user", "api_key", "system", "timer" or "ai".
    actor_type: str
    data: dict[str, Any]
    correlation_id: str | None
    occurred_at: datetime


HistoryPage = Page[HistoryOut]


class EffectOut(Schema):
    """An effect a step asked of another context, run by a job after the step committed."""

    id: uuid.UUID
    instance_id: uuid.UUID
    #: "notify", "setTags", "setType", "setField" or "setAccess".
    kind: str
    #: The action as the definition gave it (payload expressions already evaluated).
    spec: dict[str, Any]
    #: "pending", "done", "failed" (``error``: the other context's refusal) or
    #: "dismissed" (a failed one someone gave up on).
    status: str
    error: str | None
    created_at: datetime
    #: When it last finished: done, failed or dismissed.
    done_at: datetime | None
    #: How many times it was run again after failing.
    retries: int


EffectPage = Page[EffectOut]


class DismissIn(Schema):
    #: Why nobody will fix it (kept in the ``workflow.effect.dismissed`` event).
    reason: Annotated[str, Meta(max_length=2000)] = ""


class IncidentOut(Schema):
    """A failed effect (``id`` is the effect's), with its instance as it is now."""

    id: uuid.UUID
    instance_id: uuid.UUID
    workflow_key: str
    workflow_version: int
    state: str
    document_id: uuid.UUID | None
    kind: str
    error: str | None
    created_at: datetime
    failed_at: datetime | None
    retries: int


IncidentPage = Page[IncidentOut]


class RetryIncidentsIn(Schema):
    organisation_id: uuid.UUID
    #: Only the incidents of this kind of effect (``notify``, ``setTags``…).
    kind: Annotated[str, Meta(pattern=r"^[a-zA-Z]{1,32}$")] | None = None
    #: Incidents run again in this call, oldest first.
    limit: Annotated[int, Meta(ge=1, le=500)] = 100


class RetriedIncidentsOut(Schema):
    #: The effects now pending again (their jobs queued).
    retried: list[uuid.UUID]
    #: The workflow's incidents still failed (past ``limit``, being retried by someone
    #: else, or on documents the caller may not read).
    remaining: int


class VoteOut(Schema):
    user_id: uuid.UUID
    outcome: str
    reason: str | None
    created_at: datetime


class TaskOut(Schema):
    id: uuid.UUID
    organisation_id: uuid.UUID
    instance_id: uuid.UUID
    name: str
    #: "open" (offered to ``candidateRoles``), "claimed" (held by ``assigneeId``),
    #: "completed" or "cancelled" (its instance left the state).
    state: str
    assignee_id: uuid.UUID | None
    candidate_roles: list[str]
    outcomes: list[str]
    #: Outcomes that need a ``reason``.
    reason_required: list[str]
    required_approvals: int
    approve_outcome: str
    four_eyes: bool
    created_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    outcome: str | None
    votes: list[VoteOut]


TaskPage = Page[TaskOut]


class CompleteIn(Schema):
    outcome: TransitionName
    reason: Annotated[str, Meta(max_length=2000)] | None = None


class DelegateIn(Schema):
    user_id: uuid.UUID


class StateStatsOut(Schema):
    state: str
    active: int
    stays: int
    median_seconds: float | None
    sla_breaches: int


class VersionStatsOut(Schema):
    version: int
    #: Running instances on this version.
    active: int


class WorkflowStatsOut(Schema):
    key: str
    #: Instances by status ("active", "completed", "cancelled").
    by_status: dict[str, int]
    states: list[StateStatsOut]
    sla_breaches: int
    #: Running instances per version, oldest version first (versions with none left out).
    versions: list[VersionStatsOut]
    #: Failed effects waiting to be retried or dismissed (``GET /workflow-incidents``).
    incidents: int


class OutOfOfficeIn(Schema):
    delegate_id: uuid.UUID
    #: The window: tasks assigned to the caller by name between these instants go to the
    #: delegate (ISO 8601 with a zone).
    starts_at: Annotated[datetime, Meta(tz=True)]
    ends_at: Annotated[datetime, Meta(tz=True)]


class OutOfOfficeOut(Schema):
    organisation_id: uuid.UUID
    user_id: uuid.UUID
    delegate_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    #: Tasks moved to the delegate by this request (the window was running).
    moved: int
