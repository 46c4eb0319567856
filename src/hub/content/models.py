"""Tables of the content context, all in the ``content`` PostgreSQL schema.

File bytes are not here: a version names its blob by SHA-256 and the blob store keeps the
bytes (``repositories.blobs``). ``blobs`` counts how many versions reference each blob, in
the same transaction as the versions, so a blob nobody references can be deleted safely
(``services.blobs``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, REAL, TSVECTOR, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub.content.domain.documents import MAX_ASN
from hub.kernel.outbox import inbox_table, outbox_table
from hub.kernel.schema import IdMixin, context_metadata, utcnow


class Base(DeclarativeBase):
    metadata = context_metadata("content")


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)


def _ts(*, nullable: bool = True) -> Any:
    return mapped_column(DateTime(timezone=True), nullable=nullable)


def _document_fk() -> Any:
    return mapped_column(
        UUID(as_uuid=True), ForeignKey("content.documents.id", ondelete="CASCADE"), nullable=False
    )


class Document(IdMixin, Base):
    __tablename__ = "documents"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    owner_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    document_type_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    #: Number of the current version (versions count from 1).
    current_version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: Only the owner, explicit shares and content.admin reach a restricted document.
    restricted: Mapped[bool] = mapped_column(nullable=False, server_default=false())
    legal_hold: Mapped[bool] = mapped_column(nullable=False, server_default=false())
    #: The current version's text-extraction status (``version_texts.status``), kept here
    #: so a document list needs no join for it.
    extraction_status: Mapped[str] = mapped_column(
        Text, nullable=False, server_default=text("'pending'")
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
    trashed_at: Mapped[datetime | None] = _ts()
    trashed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    #: The archive serial number (Paperless-ngx's ASN): the number written on the paper
    #: original, so it can be found on the shelf; unique in the organisation, trash
    #: included.
    archive_serial_number: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint(f"archive_serial_number BETWEEN 1 AND {MAX_ASN}", name="asn"),
        Index(
            "uq_documents_asn",
            "organisation_id",
            "archive_serial_number",
            unique=True,
            postgresql_where=text("archive_serial_number IS NOT NULL"),
        ),
        Index("ix_documents_org_created", "organisation_id", "created_at", "id"),
        Index("ix_documents_org_updated", "organisation_id", "updated_at", "id"),
        Index("ix_documents_org_title", "organisation_id", "title", "id"),
        # custom-field equality filters (``field=key:eq:value``) are JSONB containment
        Index(
            "ix_documents_custom_fields",
            "custom_fields",
            postgresql_using="gin",
            postgresql_ops={"custom_fields": "jsonb_path_ops"},
        ),
        Index(
            "ix_documents_trashed",
            "trashed_at",
            postgresql_where=text("trashed_at IS NOT NULL"),
        ),
    )


class Blob(Base):
    """A stored file body, by SHA-256, with the number of versions referencing it."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(Text, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    ref_count: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    last_referenced_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint("ref_count >= 0", name="ref_count_not_negative"),
        Index("ix_blobs_unreferenced", "sha256", postgresql_where=text("ref_count = 0")),
    )


class DocumentVersion(Base):
    __tablename__ = "document_versions"

    document_id: Mapped[uuid.UUID] = _document_fk()
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    file_name: Mapped[str] = mapped_column(Text, nullable=False)
    media_type: Mapped[str] = mapped_column(Text, nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    #: The blob holding the bytes; the foreign key keeps a referenced blob's row.
    sha256: Mapped[str] = mapped_column(
        Text, ForeignKey("content.blobs.sha256", ondelete="RESTRICT"), nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    #: The version whose file this one restored, if any.
    restored_from: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        PrimaryKeyConstraint("document_id", "version", name="pk_document_versions"),
        Index("ix_document_versions_sha256", "sha256"),
    )


class DocumentShare(Base):
    """An explicit share of one document with a user or a role of its organisation."""

    __tablename__ = "document_shares"

    document_id: Mapped[uuid.UUID] = _document_fk()
    #: "user" or "role".
    subject_kind: Mapped[str] = mapped_column(Text, nullable=False)
    subject_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    #: "view" or "edit".
    access: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint(
            "document_id", "subject_kind", "subject_id", name="pk_document_shares"
        ),
        CheckConstraint("subject_kind IN ('user', 'role')", name="subject_kind"),
        CheckConstraint("access IN ('view', 'edit')", name="access"),
        Index("ix_document_shares_subject", "subject_id", "document_id"),
    )


_ALGORITHMS = "match_algorithm IN ('none', 'any', 'all', 'literal', 'regex')"


class MatchingRule:
    """Which documents' text earns a tag or a type when they arrive
    (``domain.matching``)."""

    match_algorithm: Mapped[str] = mapped_column(
        Text, nullable=False, server_default=text("'none'")
    )
    match_pattern: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("''"))
    match_case_sensitive: Mapped[bool] = mapped_column(nullable=False, server_default=false())


class Tag(MatchingRule, IdMixin, Base):
    """An organisation's tag; tags nest (``parent_id``) at most ``MAX_TAG_DEPTH`` deep."""

    __tablename__ = "tags"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    #: Case-folded name: unique per organisation.
    name_key: Mapped[str] = mapped_column(Text, nullable=False)
    #: The enclosing tag; a tag with children cannot be deleted (409), so RESTRICT.
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("content.tags.id", ondelete="RESTRICT")
    )
    #: ``#rrggbb`` or None.
    colour: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("organisation_id", "name_key"),
        Index("ix_tags_parent_id", "parent_id"),
        CheckConstraint(_ALGORITHMS, name="match_algorithm"),
    )


class DocumentType(MatchingRule, IdMixin, Base):
    """A kind of document an organisation names (invoice, contract…)."""

    __tablename__ = "document_types"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    name_key: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("''"))
    #: Every read of a document of this type (metadata, versions, file, preview, notes,
    #: insights) is recorded as ``content.document.read`` in the audit trail.
    audit_reads: Mapped[bool] = mapped_column(nullable=False, server_default=false())

    __table_args__ = (
        UniqueConstraint("organisation_id", "name_key"),
        CheckConstraint(_ALGORITHMS, name="match_algorithm"),
    )


class CustomField(IdMixin, Base):
    """A typed custom-field definition; documents' ``custom_fields`` are keyed by ``key``
    and validated against ``type`` (which never changes after creation)."""

    __tablename__ = "custom_fields"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    key: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    type: Mapped[str] = mapped_column(Text, nullable=False)
    #: The choices of a ``select`` field (empty for other types).
    options: Mapped[list[str]] = mapped_column(
        JSONB, nullable=False, server_default=text("'[]'::jsonb")
    )

    __table_args__ = (UniqueConstraint("organisation_id", "key"),)


class SavedView(IdMixin, Base):
    """A named document query a member keeps (Paperless-ngx's saved views): its filters
    as ``GET /documents`` takes them, run with the reader's own permissions. Personal
    unless ``shared``, then every member of the organisation sees it."""

    __tablename__ = "saved_views"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    #: Who made it; None once they erased their account (a shared view stays).
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(Text, nullable=False)
    #: The checked filters (``domain.saved_views.ViewFilters`` as JSON).
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    sort: Mapped[str] = mapped_column(Text, nullable=False)
    shared: Mapped[bool] = mapped_column(nullable=False, server_default=false())
    show_on_dashboard: Mapped[bool] = mapped_column(nullable=False, server_default=false())
    show_in_sidebar: Mapped[bool] = mapped_column(nullable=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        Index("ix_saved_views_owner", "organisation_id", "owner_id"),
        Index("ix_saved_views_shared", "organisation_id", postgresql_where=text("shared")),
        CheckConstraint("sort IN ('created', 'updated', 'title')", name="sort"),
    )


class DocumentTag(Base):
    __tablename__ = "document_tags"

    document_id: Mapped[uuid.UUID] = _document_fk()
    tag_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("content.tags.id", ondelete="CASCADE"), nullable=False
    )

    __table_args__ = (
        PrimaryKeyConstraint("document_id", "tag_id", name="pk_document_tags"),
        Index("ix_document_tags_tag_id", "tag_id"),
    )


class StorageUsage(Base):
    """Bytes of file versions each organisation stores (its quota is checked against it
    under this row's lock)."""

    __tablename__ = "storage_usage"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ShareLink(IdMixin, Base):
    """A link that downloads one document without an account; only the token's SHA-256
    is kept (the token is shown once, when the link is made)."""

    __tablename__ = "share_links"

    document_id: Mapped[uuid.UUID] = _document_fk()
    token_sha256: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    #: The pinned version, or None for whichever is current when the link is used.
    version: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = _ts()
    last_used_at: Mapped[datetime | None] = _ts()
    use_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))

    __table_args__ = (Index("ix_share_links_document", "document_id", "id"),)


class Note(IdMixin, Base):
    """A note on a document, seen by everyone who may read the document."""

    __tablename__ = "notes"

    document_id: Mapped[uuid.UUID] = _document_fk()
    author_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_notes_document", "document_id", "id"),)


class VersionThumbnail(Base):
    """The made thumbnail of one version (no row: not made yet; see
    ``domain.thumbnails``). A ready one names its WebP blob, counted in ``blobs`` like a
    version's file, so a purge releases it with the version."""

    __tablename__ = "version_thumbnails"

    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: "ready" or "failed" (``domain.thumbnails.Status``).
    status: Mapped[str] = mapped_column(Text, nullable=False)
    #: The WebP blob of a ready thumbnail (None when failed).
    sha256: Mapped[str | None] = mapped_column(
        Text, ForeignKey("content.blobs.sha256", ondelete="RESTRICT")
    )
    #: Why a failed one failed, for operators (never shown to clients).
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint("document_id", "version", name="pk_version_thumbnails"),
        ForeignKeyConstraint(
            ["document_id", "version"],
            ["content.document_versions.document_id", "content.document_versions.version"],
            ondelete="CASCADE",
        ),
        CheckConstraint("status IN ('ready', 'failed')", name="status"),
        CheckConstraint("(status = 'ready') = (sha256 IS NOT NULL)", name="ready_has_blob"),
        Index("ix_version_thumbnails_sha256", "sha256"),
    )


# --------------------------------------------------------------------------- extraction


class VersionText(Base):
    """What text extraction made of one version: its status and, once ``ready``, its text
    (at most ``domain.extraction.MAX_TEXT_CHARS`` characters). The one place text lives:
    search indexes ``text``."""

    __tablename__ = "version_texts"

    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: pending, ready, failed, unsupported or ocr_unavailable.
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'pending'"))
    text: Mapped[str | None] = mapped_column(Text)
    #: The text was cut at the size bound.
    truncated: Mapped[bool] = mapped_column(nullable=False, server_default=false())
    #: The text came from OCR.
    ocr: Mapped[bool] = mapped_column(nullable=False, server_default=false())
    #: Why it failed (``timeout``, ``too_large``, ``corrupt``…), for operators.
    error: Mapped[str | None] = mapped_column(Text)
    extracted_at: Mapped[datetime | None] = _ts()

    __table_args__ = (
        PrimaryKeyConstraint("document_id", "version", name="pk_version_texts"),
        ForeignKeyConstraint(
            ["document_id", "version"],
            ["content.document_versions.document_id", "content.document_versions.version"],
            ondelete="CASCADE",
        ),
        CheckConstraint(
            "status IN ('pending', 'ready', 'failed', 'unsupported', 'ocr_unavailable')",
            name="status",
        ),
    )


class DocumentFingerprint(Base):
    """The MinHash of a document's current text (``domain.extraction.fingerprint``)."""

    __tablename__ = "document_fingerprints"

    document_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("content.documents.id", ondelete="CASCADE"),
        primary_key=True,
    )
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    #: The version whose text it hashes.
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    minhash: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), nullable=False)


class FingerprintBand(Base):
    """LSH buckets of a fingerprint: documents of an organisation sharing a bucket in any
    band are near-duplicate candidates, found through the primary key's index."""

    __tablename__ = "fingerprint_bands"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    band: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    bucket: Mapped[int] = mapped_column(BigInteger, nullable=False)
    document_id: Mapped[uuid.UUID] = _document_fk()

    __table_args__ = (
        PrimaryKeyConstraint(
            "organisation_id", "band", "bucket", "document_id", name="pk_fingerprint_bands"
        ),
        Index("ix_fingerprint_bands_document", "document_id"),
    )


class NearDuplicate(Base):
    """Two documents whose current texts are alike (both directions are stored)."""

    __tablename__ = "near_duplicates"

    document_id: Mapped[uuid.UUID] = _document_fk()
    other_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("content.documents.id", ondelete="CASCADE"), nullable=False
    )
    #: Estimated Jaccard similarity of the two texts' word 3-grams.
    similarity: Mapped[float] = mapped_column(REAL, nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint("document_id", "other_id", name="pk_near_duplicates"),
        Index("ix_near_duplicates_other", "other_id"),
    )


# --------------------------------------------------------------------------- search


class OrganisationSettings(Base):
    """Content settings of one organisation (no row: the defaults)."""

    __tablename__ = "organisation_settings"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    #: Language of its full-text search (``domain.search.LANGUAGES``): stemming, stop words.
    search_language: Mapped[str] = mapped_column(
        Text, nullable=False, server_default=text("'english'")
    )
    #: What becomes of the documents of an owner who erases their account:
    #: ``transfer`` (to an owner of the organisation) or ``trash`` (transferred, then
    #: in the trash, deleted by its retention). ``services.erasure``.
    departed_owner_documents: Mapped[str] = mapped_column(
        Text, nullable=False, server_default=text("'transfer'")
    )


class SearchDocument(Base):
    """The searchable form of one document, rewritten in the transaction of every change
    to what it is computed from (``services.search_index``). It holds text only: trash
    state, permissions and filter columns are read from ``documents`` at query time, so
    they can never be stale here."""

    __tablename__ = "search_documents"

    document_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("content.documents.id", ondelete="CASCADE"),
        primary_key=True,
    )
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    #: Lower-case, unaccented title and tag names: the trigram (typo) matches run on them.
    title_key: Mapped[str] = mapped_column(Text, nullable=False)
    tags_key: Mapped[str] = mapped_column(Text, nullable=False)
    #: The text snippets are cut from (content, notes, field values, tags).
    body: Mapped[str] = mapped_column(Text, nullable=False)
    #: title A, tags and custom-field values B, content C, notes D.
    terms: Mapped[Any] = mapped_column(TSVECTOR, nullable=False)
    #: The title and tags/fields part of ``terms`` alone: small, so a query matching
    #: most documents ranks every title hit without reading the long vectors.
    head: Mapped[Any] = mapped_column(TSVECTOR, nullable=False)

    __table_args__ = (
        Index("ix_search_documents_terms", "terms", postgresql_using="gin"),
        Index("ix_search_documents_head", "head", postgresql_using="gin"),
        Index(
            "ix_search_documents_title_trgm",
            "title_key",
            postgresql_using="gin",
            postgresql_ops={"title_key": "gin_trgm_ops"},
        ),
        Index(
            "ix_search_documents_tags_trgm",
            "tags_key",
            postgresql_using="gin",
            postgresql_ops={"tags_key": "gin_trgm_ops"},
        ),
        Index("ix_search_documents_organisation", "organisation_id"),
    )


# --------------------------------------------------------------------------- audit trail


class AuditEntry(Base):
    """One entry of the tamper-evident audit trail (``services.audit``).

    Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE. Range-partitioned by
    month on ``recorded_at`` (the time it was appended, never earlier than the entry
    before it in its chain), so a retention drop removes a prefix of every chain.
    Partitions live in the ``content_audit`` schema, created ahead by a scheduled job.
    """

    __tablename__ = "audit_entries"

    chain_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    actor_type: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    entity_type: Mapped[str | None] = mapped_column(Text)
    entity_id: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    correlation_id: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(Text)
    client_address: Mapped[str | None] = mapped_column(Text)
    event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    source: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(Text, nullable=False)
    hash: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint("chain_id", "seq", "recorded_at", name="pk_audit_entries"),
        Index("ix_audit_entries_correlation", "chain_id", "correlation_id"),
        Index("ix_audit_entries_entity", "chain_id", "entity_type", "entity_id"),
        Index("ix_audit_entries_actor", "chain_id", "actor_id"),
        {"postgresql_partition_by": "RANGE (recorded_at)"},
    )


class AuditChain(Base):
    """The head of one chain: appends lock this row, so one chain grows one entry at a
    time. ``anchor_*`` is where the kept entries start once retention dropped older ones
    (the last dropped entry's seq and hash, signed like a checkpoint)."""

    __tablename__ = "audit_chains"

    chain_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_hash: Mapped[str] = mapped_column(Text, nullable=False)
    last_recorded_at: Mapped[datetime | None] = _ts()
    anchor_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    anchor_hash: Mapped[str] = mapped_column(Text, nullable=False)
    anchor_at: Mapped[datetime | None] = _ts()
    anchor_signature: Mapped[str | None] = mapped_column(Text)


class AuditCheckpoint(IdMixin, Base):
    """A chain head signed with a key the database never holds (``services.audit``)."""

    __tablename__ = "audit_checkpoints"

    chain_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hash: Mapped[str] = mapped_column(Text, nullable=False)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    signature: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (Index("ix_audit_checkpoints_chain", "chain_id", "seq"),)


class AuditRewrite(IdMixin, Base):
    """A signed record that a stretch of a chain was rewritten on purpose (an erased
    person pseudonymised: ``services.audit_erasure``), checked by verification."""

    __tablename__ = "audit_rewrites"

    chain_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    first_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hash_before: Mapped[str] = mapped_column(Text, nullable=False)
    hash_after: Mapped[str] = mapped_column(Text, nullable=False)
    rewritten_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    signature: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (Index("ix_audit_rewrites_chain", "chain_id", "last_seq"),)


# --------------------------------------------------------------------------- mail


class MailAccount(IdMixin, Base):
    """An organisation's mailbox that mail rules read (IMAP; ``services.mail_fetch``).
    The password is sealed under ``HUB_SECRET_KEY``, bound to the row's id, and never
    returned. ``owner_id``: whose documents the mail becomes (who set the account up, or
    changed it last), so they follow that member's rights."""

    __tablename__ = "mail_accounts"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    host: Mapped[str] = mapped_column(Text, nullable=False)
    port: Mapped[int] = mapped_column(Integer, nullable=False)
    security: Mapped[str] = mapped_column(Text, nullable=False)
    username: Mapped[str] = mapped_column(Text, nullable=False)
    password_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    enabled: Mapped[bool] = mapped_column(nullable=False, server_default=text("true"))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    last_checked_at: Mapped[datetime | None] = _ts()
    #: Why the last check failed (scrubbed of the password), None when it worked.
    last_error: Mapped[str | None] = mapped_column(Text)
    #: A fetch in progress holds the account until then (a crashed one lets go by itself).
    lease_until: Mapped[datetime | None] = _ts()
    created_at: Mapped[datetime] = _ts(nullable=False)
    updated_at: Mapped[datetime] = _ts(nullable=False)

    __table_args__ = (
        CheckConstraint("security IN ('ssl', 'starttls', 'none')", name="security"),
        CheckConstraint("port BETWEEN 1 AND 65535", name="port"),
        Index("ix_mail_accounts_org", "organisation_id", "id"),
    )


class MailRule(IdMixin, Base):
    """Which mails of an account's folder become documents, with which metadata, and
    what then happens to the mail (as Paperless-ngx's mail rules)."""

    __tablename__ = "mail_rules"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("content.mail_accounts.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    #: Rules of an account run in this order (then by id).
    position: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    enabled: Mapped[bool] = mapped_column(nullable=False, server_default=text("true"))
    folder: Mapped[str] = mapped_column(Text, nullable=False)
    #: Case-insensitive substrings the sender and the subject must contain.
    filter_from: Mapped[str | None] = mapped_column(Text)
    filter_subject: Mapped[str | None] = mapped_column(Text)
    #: ... the recipients (To, Cc, Delivered-To) and the body's text.
    filter_to: Mapped[str | None] = mapped_column(Text)
    filter_body: Mapped[str | None] = mapped_column(Text)
    #: A file-name pattern (``*.pdf``) the attachments must match, and one they must not.
    filter_attachment: Mapped[str | None] = mapped_column(Text)
    filter_attachment_exclude: Mapped[str | None] = mapped_column(Text)
    #: What becomes documents: the attachments, the mail as ``.eml``, or both.
    consumption: Mapped[str] = mapped_column(
        Text, nullable=False, server_default=text("'attachments'")
    )
    max_age_days: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    action_folder: Mapped[str | None] = mapped_column(Text)
    title_from: Mapped[str] = mapped_column(Text, nullable=False)
    tag_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), nullable=False, server_default=text("'{}'")
    )
    document_type_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = _ts(nullable=False)
    updated_at: Mapped[datetime] = _ts(nullable=False)

    __table_args__ = (
        CheckConstraint("action IN ('mark_read', 'flag', 'move', 'delete')", name="action"),
        CheckConstraint("title_from IN ('subject', 'filename')", name="title_from"),
        CheckConstraint("consumption IN ('attachments', 'mail', 'everything')", name="consumption"),
        Index("ix_mail_rules_account", "account_id", "position", "id"),
        Index("ix_mail_rules_org", "organisation_id", "id"),
    )


class MailProcessed(Base):
    """A mail a rule has dealt with (found by its folder's UIDVALIDITY and its UID), so
    it is never consumed twice, and what came of it."""

    __tablename__ = "mail_processed"

    rule_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("content.mail_rules.id", ondelete="CASCADE")
    )
    uid_validity: Mapped[int] = mapped_column(BigInteger, nullable=False)
    uid: Mapped[int] = mapped_column(BigInteger, nullable=False)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    message_id: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text, nullable=False)
    sender: Mapped[str] = mapped_column(Text, nullable=False)
    #: consumed (documents made), skipped (no attachment the rule takes) or failed.
    status: Mapped[str] = mapped_column(Text, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    document_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), nullable=False, server_default=text("'{}'")
    )
    processed_at: Mapped[datetime] = _ts(nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint("rule_id", "uid_validity", "uid"),
        CheckConstraint("status IN ('consumed', 'skipped', 'failed')", name="status"),
        Index("ix_mail_processed_rule", "rule_id", "processed_at"),
    )


# --------------------------------------------------------------------------- consume folder


class ConsumeFolder(Base):
    """An organisation's consumption folder, ``HUB_CONTENT_CONSUME_DIR/<organisation
    id>/``: whether it is read, and what its files become (``services.consume_scan``).
    ``owner_id``: whose documents they become (who set it up or changed it last)."""

    __tablename__ = "consume_folders"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    enabled: Mapped[bool] = mapped_column(nullable=False, server_default=text("true"))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    tag_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), nullable=False, server_default=text("'{}'")
    )
    document_type_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    #: Each subfolder of a file's path becomes a tag of its document (made when new).
    subfolders_as_tags: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    last_scanned_at: Mapped[datetime | None] = _ts()
    #: Why the last scan could not read the folder (its owner's rights, the disk).
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _ts(nullable=False)
    updated_at: Mapped[datetime] = _ts(nullable=False)


class ConsumedFile(Base):
    """A file taken from a consumption folder: claimed (``processing``, moved into the
    hub's own ``.hub/processing/<id>``), then ``consumed`` (its document) or ``failed``
    (moved to ``.hub/failed/``, ``error`` says why)."""

    __tablename__ = "consumed_files"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    #: Its path below the organisation's folder, as found.
    name: Mapped[str] = mapped_column(Text, nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    document_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    claimed_at: Mapped[datetime] = _ts(nullable=False)
    settled_at: Mapped[datetime | None] = _ts()

    __table_args__ = (
        CheckConstraint("status IN ('processing', 'consumed', 'failed')", name="status"),
        CheckConstraint("size >= 0", name="size"),
        Index("ix_consumed_files_org", "organisation_id", "id"),
        Index("ix_consumed_files_settled", "settled_at"),
    )
