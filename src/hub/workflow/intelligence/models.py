"""Tables of document intelligence, in the ``workflow`` schema (workflow's metadata)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    REAL,
    Boolean,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Text,
    false,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from hub.kernel.migrations import UNMANAGED_TABLES
from hub.workflow.models import Base

#: Made by migration 5c0d8e21a7f4 only where pgvector is installed (see
#: ``services/vector_index.py``); no model, so the drift check must leave it out.
EMBEDDINGS_TABLE = "document_embeddings"
Base.metadata.info.setdefault(UNMANAGED_TABLES, set()).add(EMBEDDINGS_TABLE)


class ClassifierState(Base):
    """One organisation's classifier: the training state, its progress and the last
    measurement. ``state``: untrained, queued, training, ready or failed."""

    __tablename__ = "classifier_states"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    state: Mapped[str] = mapped_column(Text, nullable=False)
    progress: Mapped[float] = mapped_column(Float, nullable=False)
    stage: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    trained_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The version in use: set, in the transaction that makes the state ``ready``, only
    #: once that version's model and every vector are stored (a model row of a newer
    #: version may exist meanwhile: a training in progress, or one that failed).
    model_version: Mapped[int | None] = mapped_column(Integer)
    documents_used: Mapped[int] = mapped_column(Integer, nullable=False)
    #: ``{reason: count}`` and a sample of left-out document ids per reason.
    documents_skipped: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    #: When a person last changed a document's labels (content edits, feedback): the
    #: hourly retraining picks organisations whose labels changed since their last request.
    labels_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Opt-in: tags suggested at or above the threshold are applied when a document's
    #: text is extracted (actor type ``ai``), each recorded in ``auto_applications``.
    auto_apply: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    auto_apply_threshold: Mapped[float | None] = mapped_column(Float)


class ClassifierModel(Base):
    """A trained model (skops bytes, loaded only with an allow-list of types)."""

    __tablename__ = "classifier_models"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)

    __table_args__ = (PrimaryKeyConstraint("organisation_id", "version"),)


class DocumentVector(Base):
    """A document's dense vector (TF-IDF -> TruncatedSVD, unit length) under one model
    version, as a float array (pgvector is not required; see docs/intelligence.md). A
    retraining writes the new version's rows beside the current version's; the old ones
    are deleted once the organisation switched to the new version."""

    __tablename__ = "document_vectors"

    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), nullable=False, index=True
    )
    model_version: Mapped[int] = mapped_column(Integer, primary_key=True)
    vector: Mapped[list[float]] = mapped_column(ARRAY(REAL), nullable=False)


class InsightFeedback(Base):
    """A person accepted or rejected a suggestion; the latest answer per label counts."""

    __tablename__ = "insight_feedback"

    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    label: Mapped[str] = mapped_column(Text, nullable=False)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    accepted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (PrimaryKeyConstraint("document_id", "kind", "label"),)


class MachineLabel(Base):
    """A document whose tags or type were last set by a non-person actor (a workflow, an
    AI) through ContentApi; it does not train until a person changes or confirms them."""

    __tablename__ = "machine_labels"

    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    via: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class AutoApplication(Base):
    """A tag the classifier applied by itself: with which model and confidence; undone
    when a person took it back (it is then never applied to that document again)."""

    __tablename__ = "auto_applications"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    label: Mapped[str] = mapped_column(Text, nullable=False)
    confidence: Mapped[float] = mapped_column(Float, nullable=False)
    model_version: Mapped[int] = mapped_column(Integer, nullable=False)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
