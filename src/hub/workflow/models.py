"""Tables of the workflow context, all in the ``workflow`` PostgreSQL schema.

* ``definitions``: every published version of an organisation's workflow (key, version);
  the highest version of a key is the one new instances start on.
* ``instances``: one running (or finished) process on a subject, pinned to the definition
  row it started on; ``version`` is its optimistic-concurrency counter (every transition
  is ``UPDATE ... WHERE version = :expected``).
* ``history``: one row per start, transition and cancel, written in the transition's
  transaction.
* ``tasks`` / ``task_votes``: human tasks (assigned to a user or offered to roles) and the
  outcomes members gave them (one per member: an "N of M" approval counts them).
* ``trigger_timers``: the next start each cron or date trigger planned.
* ``effects``: side effects on other contexts (notify, set tags) a transition asked for,
  run by the ``workflow.run_effect`` job after the transition committed.
* ``buffered_messages``: messages sent before any instance waited for them, kept for a
  time-to-live (``services.messages``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub.kernel.outbox import inbox_table, outbox_table
from hub.kernel.schema import IdMixin, context_metadata, owned_by, utcnow


class Base(DeclarativeBase):
    metadata = context_metadata("workflow")


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)


def _uuid(*, nullable: bool = False) -> Any:
    return mapped_column(UUID(as_uuid=True), nullable=nullable)


def _ts(*, nullable: bool = True) -> Any:
    if nullable:
        return mapped_column(DateTime(timezone=True), nullable=True)
    return mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


def _json(default: str) -> Any:
    return mapped_column(JSONB, nullable=False, server_default=text(f"'{default}'::jsonb"))


class WorkflowDefinition(IdMixin, Base):
    """One published version of a workflow (a new publish is a new row)."""

    __tablename__ = "definitions"

    organisation_id: Mapped[uuid.UUID] = _uuid()
    key: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[dict[str, Any]] = _json("{}")
    published_by: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    published_at: Mapped[datetime] = _ts(nullable=False)

    __table_args__ = (UniqueConstraint("organisation_id", "key", "version"),)


class Instance(IdMixin, Base):
    __tablename__ = "instances"

    organisation_id: Mapped[uuid.UUID] = _uuid()
    definition_id: Mapped[uuid.UUID] = owned_by("workflow.definitions.id")
    workflow_key: Mapped[str] = mapped_column(Text, nullable=False)
    workflow_version: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(Text, nullable=False)
    #: "active", "completed" (reached a final state) or "cancelled".
    status: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    document_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    reference: Mapped[str | None] = mapped_column(Text)
    variables: Mapped[dict[str, Any]] = _json("{}")
    started_by: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    started_at: Mapped[datetime] = _ts(nullable=False)
    state_entered_at: Mapped[datetime] = _ts(nullable=False)
    updated_at: Mapped[datetime] = _ts(nullable=False)
    ended_at: Mapped[datetime | None] = _ts()
    #: The integration event that started it (a trigger), if any: one instance per event.
    trigger_event_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    #: The schedule slot or document date that started it (``TriggerTimer.slot_key``).
    trigger_key: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("organisation_id", "workflow_key", "trigger_event_id"),
        UniqueConstraint("organisation_id", "workflow_key", "trigger_key"),
        Index("ix_instances_org_key", "organisation_id", "workflow_key", "state"),
        Index("ix_instances_document_id", "document_id"),
    )


class HistoryEntry(IdMixin, Base):
    __tablename__ = "history"

    instance_id: Mapped[uuid.UUID] = owned_by("workflow.instances.id")
    #: The instance's version after this step (1 for the start).
    instance_version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: "started", "transition", "cancelled" or "migrated" (to another version).
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    transition: Mapped[str | None] = mapped_column(Text)
    from_state: Mapped[str | None] = mapped_column(Text)
    to_state: Mapped[str] = mapped_column(Text, nullable=False)
    actor_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    #: "user", "api_key", "system", "timer" or "ai".
    actor_type: Mapped[str] = mapped_column(Text, nullable=False)
    data: Mapped[dict[str, Any]] = _json("{}")
    correlation_id: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = _ts(nullable=False)

    __table_args__ = (UniqueConstraint("instance_id", "instance_version"),)


class Effect(IdMixin, Base):
    """A side effect on another context, run once by a job after its transition committed."""

    __tablename__ = "effects"

    instance_id: Mapped[uuid.UUID] = owned_by("workflow.instances.id")
    organisation_id: Mapped[uuid.UUID] = _uuid()
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    spec: Mapped[dict[str, Any]] = _json("{}")
    #: "pending", "done", "failed" (``error`` says why) or "dismissed" (a failed one
    #: someone gave up on; it keeps its ``error``).
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'pending'"))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _ts(nullable=False)
    #: When it last finished: done, failed or dismissed.
    done_at: Mapped[datetime | None] = _ts()
    #: How many times someone ran it again after it failed (``…/effects/{id}/retry``).
    retries: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))

    __table_args__ = (
        #: The organisation's incidents, newest first (``GET /workflow-incidents``).
        Index(
            "ix_effects_failed",
            "organisation_id",
            "id",
            postgresql_where=text("status = 'failed'"),
        ),
        #: An instance's effects in order (``GET /workflow-instances/{id}/effects``).
        Index("ix_effects_instance", "instance_id", "id"),
    )


class Task(IdMixin, Base):
    __tablename__ = "tasks"

    organisation_id: Mapped[uuid.UUID] = _uuid()
    instance_id: Mapped[uuid.UUID] = owned_by("workflow.instances.id")
    #: The instance's state the task belongs to (leaving it cancels the task).
    instance_state: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    #: "open", "claimed", "completed" or "cancelled".
    state: Mapped[str] = mapped_column(Text, nullable=False)
    assignee_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    #: Lower-cased role names (or role ids) whose members may claim and complete it.
    candidate_roles: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")
    )
    #: outcome -> {"transition": name, "reasonRequired": bool}
    outcomes: Mapped[dict[str, Any]] = _json("{}")
    required_approvals: Mapped[int] = mapped_column(Integer, nullable=False)
    approve_outcome: Mapped[str] = mapped_column(Text, nullable=False)
    four_eyes: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[datetime] = _ts(nullable=False)
    due_at: Mapped[datetime | None] = _ts()
    completed_at: Mapped[datetime | None] = _ts()
    outcome: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_tasks_org_state", "organisation_id", "state"),
        Index("ix_tasks_assignee", "assignee_id", "state"),
        Index("ix_tasks_instance", "instance_id", "state"),
    )


class TaskVote(IdMixin, Base):
    """One member's outcome on a task (a member votes once)."""

    __tablename__ = "task_votes"

    task_id: Mapped[uuid.UUID] = owned_by("workflow.tasks.id")
    user_id: Mapped[uuid.UUID] = _uuid()
    outcome: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _ts(nullable=False)

    __table_args__ = (UniqueConstraint("task_id", "user_id"),)


class Timer(IdMixin, Base):
    """A durable timer: one SLA step of one stay of an instance in a state. Fired once:
    the firing job claims it with ``FOR UPDATE SKIP LOCKED`` and marks it in the same
    transaction as its effects; leaving the state cancels the pending ones."""

    __tablename__ = "timers"

    organisation_id: Mapped[uuid.UUID] = _uuid()
    instance_id: Mapped[uuid.UUID] = owned_by("workflow.instances.id")
    state: Mapped[str] = mapped_column(Text, nullable=False)
    #: The instance's version when it entered ``state`` (tells this stay from a later one).
    entered_version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: Position of the step in the state's ladder.
    step: Mapped[int] = mapped_column(Integer, nullable=False)
    #: "remind", "escalate" or "transition".
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    spec: Mapped[dict[str, Any]] = _json("{}")
    due_at: Mapped[datetime] = _ts(nullable=False)
    #: "pending", "fired", "cancelled" (left its state first) or "failed" (its step refused).
    status: Mapped[str] = mapped_column(Text, nullable=False)
    fired_at: Mapped[datetime | None] = _ts()

    __table_args__ = (
        UniqueConstraint("instance_id", "entered_version", "step"),
        Index(
            "ix_timers_due",
            "due_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )


class TriggerTimer(IdMixin, Base):
    """The next start a cron or date trigger plans: fired once by the timer loop (``FOR
    UPDATE SKIP LOCKED``), like an SLA timer. ``plan_key`` names what it plans for
    (``cron:<trigger>``, ``date:<trigger>:<document>``: one pending row each, a re-plan
    cancels the old one); ``slot_key`` the start itself (``cron:<trigger>:<slot>``,
    ``date:<trigger>:<document>:<date>``), unique among the workflow's instances."""

    __tablename__ = "trigger_timers"

    organisation_id: Mapped[uuid.UUID] = _uuid()
    workflow_key: Mapped[str] = mapped_column(Text, nullable=False)
    #: The version whose trigger planned it (a newer version re-plans).
    definition_id: Mapped[uuid.UUID] = owned_by("workflow.definitions.id")
    #: Position of the trigger in the definition's ``triggers``.
    trigger: Mapped[int] = mapped_column(Integer, nullable=False)
    #: "cron" or "date".
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    plan_key: Mapped[str] = mapped_column(Text, nullable=False)
    slot_key: Mapped[str] = mapped_column(Text, nullable=False)
    document_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    due_at: Mapped[datetime] = _ts(nullable=False)
    #: "pending", "fired", "cancelled" (re-planned) or "failed" (the start was refused).
    status: Mapped[str] = mapped_column(Text, nullable=False)
    fired_at: Mapped[datetime | None] = _ts()

    __table_args__ = (
        Index("ix_trigger_timers_due", "due_at", postgresql_where=text("status = 'pending'")),
        Index(
            "uq_trigger_timers_pending_plan",
            "organisation_id",
            "workflow_key",
            "plan_key",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
    )


class Delegation(IdMixin, Base):
    """A member's out-of-office window in an organisation: tasks assigned to them while it
    runs go to ``delegate_id`` (one window per member and organisation)."""

    __tablename__ = "delegations"

    organisation_id: Mapped[uuid.UUID] = _uuid()
    user_id: Mapped[uuid.UUID] = _uuid()
    delegate_id: Mapped[uuid.UUID] = _uuid()
    starts_at: Mapped[datetime] = _ts(nullable=False)
    ends_at: Mapped[datetime] = _ts(nullable=False)
    created_at: Mapped[datetime] = _ts(nullable=False)

    __table_args__ = (UniqueConstraint("organisation_id", "user_id"),)


class BufferedMessage(IdMixin, Base):
    """A message nobody waited for, kept until ``expires_at`` for the first instance that
    comes to wait for it and matches (``services.messages``): the correlation it was
    sent with, its variables and who sent it."""

    __tablename__ = "buffered_messages"

    organisation_id: Mapped[uuid.UUID] = _uuid()
    name: Mapped[str] = mapped_column(Text, nullable=False)
    workflow_key: Mapped[str | None] = mapped_column(Text)
    instance_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    reference: Mapped[str | None] = mapped_column(Text)
    document_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    #: The variables the instance must hold (JSON containment).
    match_variables: Mapped[dict[str, Any]] = _json("{}")
    variables: Mapped[dict[str, Any]] = _json("{}")
    sender_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    #: "user" or "api_key": the step's actor when it is delivered.
    sender_type: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _ts(nullable=False)
    expires_at: Mapped[datetime] = _ts(nullable=False)

    __table_args__ = (
        CheckConstraint("sender_type IN ('user', 'api_key')", name="sender_type"),
        Index("ix_buffered_messages_waiting", "organisation_id", "name", "expires_at"),
        Index("ix_buffered_messages_expiry", "expires_at"),
    )
