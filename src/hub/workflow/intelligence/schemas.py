"""HTTP bodies of document intelligence (camelCase on the wire)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta

from hub.kernel.structs import Schema


class LabelMetricOut(Schema):
    """One label's held-out figures; a ``customField`` label is an option of the select
    field ``field`` (its key)."""

    kind: Literal["tag", "documentType", "customField"]
    label: str
    precision: float
    recall: float
    f1: float
    support: int
    document_type_id: uuid.UUID | None = None
    field: str | None = None


class MetricsOut(Schema):
    held_out: int
    tag_macro_f1: float | None
    type_macro_f1: float | None
    labels: list[LabelMetricOut]
    #: Labels seen but not learnt, with the reason.
    skipped_labels: dict[str, str]


class SkippedOut(Schema):
    count: int
    sample: list[uuid.UUID]


class ClassifierOut(Schema):
    organisation_id: uuid.UUID
    state: Literal["untrained", "queued", "training", "ready", "failed"]
    progress: float
    stage: str | None
    requested_at: datetime | None
    trained_at: datetime | None
    model_version: int | None
    documents_used: int
    #: Documents left out of training by reason (``text_not_extracted``, ``no_labels``).
    documents_skipped: dict[str, SkippedOut]
    metrics: MetricsOut | None
    error: str | None
    #: Tags suggested at or above ``autoApplyThreshold`` are applied on text extraction.
    auto_apply: bool = False
    auto_apply_threshold: float | None = None


class AutoApplyIn(Schema):
    enabled: bool
    threshold: Annotated[float, Meta(ge=0.5, le=1.0)]


class AutoApplicationOut(Schema):
    id: uuid.UUID
    document_id: uuid.UUID
    kind: Literal["tag", "documentType"]
    #: The tag's name, or the document type's id.
    label: str
    confidence: float
    model_version: int
    applied_at: datetime
    undone_at: datetime | None
    undone_by: uuid.UUID | None


class SuggestionOut(Schema):
    """A tag, a document type, or an option of a select custom field (``customField``:
    ``id`` is the field's, ``name`` the option, ``field`` and ``fieldName`` name it)."""

    kind: Literal["tag", "documentType", "customField"]
    id: uuid.UUID
    name: str
    confidence: float
    #: The document's terms that weighed most towards this label.
    evidence: list[str]
    #: The document already has this label.
    applied: bool
    field: str | None = None
    field_name: str | None = None


class FoundOut(Schema):
    text: str
    start: int
    end: int
    value: str
    currency: str | None = None


class InsightsOut(Schema):
    document_id: uuid.UUID
    model_version: int | None
    suggestions: list[SuggestionOut]
    keywords: list[str]
    summary: str
    language: str
    dates: list[FoundOut]
    amounts: list[FoundOut]
    text_available: bool
    notes: list[str]


class VerdictIn(Schema):
    kind: Literal["tag", "documentType"]
    #: A tag's name or id, or a document type's id.
    label: Annotated[str, Meta(min_length=1, max_length=200)]
    accepted: bool


class FeedbackIn(Schema):
    items: Annotated[list[VerdictIn], Meta(min_length=1, max_length=100)]


class FeedbackOut(Schema):
    recorded: int


class SimilarItemOut(Schema):
    id: uuid.UUID
    score: float


class SimilarOut(Schema):
    items: list[SimilarItemOut]
    #: ``vectors``, or ``none`` before the organisation's first training.
    basis: Literal["vectors", "none"]
    model_version: int | None
    reason: str | None
