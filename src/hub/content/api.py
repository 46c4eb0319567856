"""Public interface of the content context.

Everything another context may use of content lives here: the synchronous ``Protocol``,
the msgspec DTOs it returns and the integration events content publishes. Framework-free
(import-linter forbids SQLAlchemy, Litestar, dramatiq and Redis here), so a split-out
content service can ship this module unchanged as its client contract.

Events carry ids and names only, never a file's contents (nor its hash): a consumer that
needs more asks :class:`ContentApi`, which applies the document permission rule.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol

import msgspec

from hub.identity.api import SettingChange
from hub.kernel.contract import idempotent
from hub.kernel.events import IntegrationEvent

# --------------------------------------------------------------------------- DTOs


class DocumentSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    organisation_id: uuid.UUID
    owner_id: uuid.UUID
    title: str
    file_name: str
    media_type: str
    size: int
    version: int
    tags: tuple[str, ...]
    document_type_id: uuid.UUID | None
    custom_fields: dict[str, Any]
    restricted: bool
    legal_hold: bool
    created_at: datetime
    updated_at: datetime
    trashed_at: datetime | None
    #: Whether its type audits reads (``auditReads``): only then has a read made through
    #: another context to be recorded with :meth:`ContentApi.record_read`.
    audit_reads: bool = False


class CorpusDocument(msgspec.Struct, frozen=True, kw_only=True):
    """A document of an organisation as a body of text (for a classifier): its current
    version's extraction status and text (None unless ``ready``) and its labels."""

    id: uuid.UUID
    extraction_status: str | None
    text: str | None
    tags: tuple[str, ...]
    document_type_id: uuid.UUID | None
    #: The document's values of the organisation's ``select`` custom fields, by key.
    select_fields: dict[str, str] = msgspec.field(default_factory=dict)


class TaxonomyItem(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str


class CustomFieldItem(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    #: What documents' ``custom_fields`` are keyed by.
    key: str
    name: str
    #: string, text, integer, number, monetary, date (``YYYY-MM-DD``), boolean, url,
    #: select, member or document.
    type: str


class SelectField(msgspec.Struct, frozen=True, kw_only=True):
    """A custom field of type ``select``: documents hold one of its ``options`` under
    ``key`` in their custom fields."""

    id: uuid.UUID
    key: str
    name: str
    options: tuple[str, ...]


class Taxonomy(msgspec.Struct, frozen=True, kw_only=True):
    """An organisation's tags, document types and custom fields as they are now."""

    tags: tuple[TaxonomyItem, ...]
    document_types: tuple[TaxonomyItem, ...]
    custom_fields: tuple[CustomFieldItem, ...] = ()
    select_fields: tuple[SelectField, ...] = ()


class AccessGrant(msgspec.Struct, frozen=True, kw_only=True):
    """A share of a document with one member (``user_id``) or one role (``role_id``) of
    its organisation; ``access`` is ``view`` or ``edit`` (ignored when revoking)."""

    user_id: uuid.UUID | None = None
    role_id: uuid.UUID | None = None
    access: str = "view"


class ContentApi(Protocol):
    @idempotent
    async def document(self, document_id: uuid.UUID) -> DocumentSummary | None:
        """The document (trashed or not), or None when there is none. No permission
        check: the caller decides what to reveal, with :meth:`may_read`."""
        ...

    @idempotent
    async def may_read(self, user_id: uuid.UUID, document_id: uuid.UUID) -> bool:
        """Whether the user (as a person, not an API key) may read the document."""
        ...

    @idempotent
    async def readable_document(
        self, user_id: uuid.UUID, document_id: uuid.UUID
    ) -> DocumentSummary | None:
        """The document if it is outside the trash and the user (as a person) may read
        it, else None: :meth:`document` and :meth:`may_read` in one call, one query when
        no share has to be looked at."""
        ...

    @idempotent
    async def may_edit(self, user_id: uuid.UUID, document_id: uuid.UUID) -> bool:
        """Whether the user may add versions to the document and change its metadata."""
        ...

    async def record_read(self, document_id: uuid.UUID, what: str) -> None:
        """A read made through another context (insights, similar documents) of a
        document the caller was allowed to read: ``content.document.read`` when the
        document's type audits reads (``auditReads``), nothing otherwise. The actor is
        the acting request's, as for every event."""
        ...

    async def set_metadata(
        self,
        document_id: uuid.UUID,
        *,
        actor: str,
        actor_id: uuid.UUID | None = None,
        tags: list[str] | None = None,
        document_type_id: uuid.UUID | None = None,
        custom_fields: dict[str, Any] | None = None,
        clear_document_type: bool = False,
    ) -> DocumentSummary | None:
        """Set tags (names or ids; they replace the document's), type and custom fields
        (merged, a None value removes the key) on behalf of a workflow or an AI actor
        (``actor`` names it in the ``content.document.updated`` event). None leaves a
        part unchanged; ``clear_document_type`` removes the type (undoing one set by an
        AI). Returns None when the document does not exist or is trashed."""
        ...

    async def change_access(
        self,
        document_id: uuid.UUID,
        *,
        actor: str,
        restricted: bool | None = None,
        grant: list[AccessGrant] | None = None,
        revoke: list[AccessGrant] | None = None,
    ) -> DocumentSummary | None:
        """Change who may reach the document on behalf of a workflow (``actor``): set the
        restriction (None: unchanged), add or change the shares in ``grant`` and remove
        those of the users and roles in ``revoke``; other shares stay. Publishes
        ``content.document.shared``. Returns None when the document does not exist or is
        trashed; raises a 422 when a grant names no member or role of its organisation."""
        ...

    async def field_values(self, organisation_id: uuid.UUID, key: str) -> dict[uuid.UUID, Any]:
        """Each document of the organisation outside the trash that has a value for the
        custom field ``key``, with that value. No permission check: for a context's own
        background work (planning date-relative reminders)."""
        ...

    @idempotent
    async def corpus(self, organisation_id: uuid.UUID) -> list[CorpusDocument]:
        """Every document of the organisation outside the trash with its current text and
        labels. No permission check: for a context's own background work (training)."""
        ...

    @idempotent
    async def taxonomy(self, organisation_id: uuid.UUID) -> Taxonomy:
        """The organisation's tags and document types."""
        ...

    @idempotent
    async def text_of(self, document_id: uuid.UUID) -> str | None:
        """The current version's extracted text, None until extraction is ``ready``. No
        permission check: ask :meth:`may_read` first."""
        ...

    @idempotent
    async def readable_among(
        self,
        user_id: uuid.UUID,
        organisation_id: uuid.UUID,
        document_ids: list[uuid.UUID],
        *,
        trashed: bool = False,
    ) -> set[uuid.UUID]:
        """Those of ``document_ids`` (of the organisation, outside the trash unless
        ``trashed``) the user may read, decided in one query by the document rule."""
        ...


# --------------------------------------------------------------------------- configuration


class MatchingSetting(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """A tag's or a type's matching rule (``any``, ``all``, ``literal``, ``regex`` or
    ``none``; see content's matching rules)."""

    algorithm: Literal["none", "any", "all", "literal", "regex"] = "none"
    pattern: str = ""
    case_sensitive: bool = False


class TagSetting(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """A tag as configuration, known by its name; ``parent`` names another tag.
    ``matching``: its rule (left as it is when absent)."""

    name: str
    parent: str | None = None
    colour: str | None = None
    matching: MatchingSetting | None = None


class DocumentTypeSetting(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    name: str
    description: str = ""
    #: Every read of a document of the type is audited (``content.document.read``).
    audit_reads: bool = False
    #: Its matching rule (left as it is when absent).
    matching: MatchingSetting | None = None


class CustomFieldSetting(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """A custom field as configuration, known by its ``key`` (its type never changes)."""

    key: str
    name: str
    type: str
    options: tuple[str, ...] | None = None


class TaxonomySettings(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    tags: tuple[TagSetting, ...] = ()
    document_types: tuple[DocumentTypeSetting, ...] = ()
    custom_fields: tuple[CustomFieldSetting, ...] = ()


class ContentConfigApi(Protocol):
    """An organisation's taxonomy as configuration (domain packs, export/import): tags,
    document types and custom fields matched by name (fields by key), through the same
    checks and events as ``/orgs/{orgId}/tags`` and its siblings. Nothing is deleted."""

    @idempotent
    async def taxonomy_problems(
        self, settings: TaxonomySettings, path: str
    ) -> list[tuple[str, str]]:
        """Every reason the settings could not be applied, as ``(path, message)``."""
        ...

    @idempotent
    async def taxonomy_settings(self, organisation_id: uuid.UUID) -> TaxonomySettings:
        """The organisation's tags, document types and custom fields as they are now."""
        ...

    async def put_tag(
        self, organisation_id: uuid.UUID, tag: TagSetting, *, actor_id: uuid.UUID
    ) -> SettingChange:
        """Create the tag or bring its parent and colour in line (the parent must exist)."""
        ...

    async def put_document_type(
        self, organisation_id: uuid.UUID, document_type: DocumentTypeSetting, *, actor_id: uuid.UUID
    ) -> SettingChange: ...

    async def put_custom_field(
        self, organisation_id: uuid.UUID, field: CustomFieldSetting, *, actor_id: uuid.UUID
    ) -> SettingChange:
        """Create the field or update its name and options (422 ``field_type_immutable``
        for another type)."""
        ...


# --------------------------------------------------------------------------- events


class DocumentEvent(IntegrationEvent, kw_only=True, frozen=True):
    aggregate_field: ClassVar[str | None] = "document_id"
    document_id: uuid.UUID


class DocumentUploaded(DocumentEvent, kw_only=True, frozen=True):
    """A new document. ``origin`` says where it came from (Paperless-ngx's document
    source, for workflow triggers): ``upload`` (the API), ``mail`` (a mail rule:
    ``origin_ref`` is its id), ``folder`` (the consumption folder: ``origin_ref`` is the
    file's path below it), ``split`` or ``merge`` (PDF editing: ``origin_ref`` is the
    document it was made from, the first one merged)."""

    event_type: ClassVar[str] = "content.document.uploaded"
    title: str
    file_name: str
    origin: str = "upload"
    origin_ref: str | None = None


class TextExtracted(DocumentEvent, kw_only=True, frozen=True):
    """A version's text extraction settled (``status``: ready, unsupported,
    ocr_unavailable or failed); search re-reads the text through its own query."""

    event_type: ClassVar[str] = "content.document.text_extracted"
    version: int
    status: str


class DocumentSplit(DocumentEvent, kw_only=True, frozen=True):
    """Parts of the document's pages became new documents (each also ``uploaded``)."""

    event_type: ClassVar[str] = "content.document.split"
    version: int
    parts: list[uuid.UUID]


class DocumentsMerged(DocumentEvent, kw_only=True, frozen=True):
    """A new document (``document_id``, also ``uploaded``) holds the pages of ``sources``
    in that order, each at its version ``versions``."""

    event_type: ClassVar[str] = "content.document.merged"
    sources: list[uuid.UUID]
    versions: list[int]


class VersionAdded(DocumentEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.document.version_added"
    version: int
    file_name: str
    #: Set when an older version's file was restored as this new version.
    restored_from: int | None = None


class DocumentUpdated(DocumentEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.document.updated"
    #: Wire names of the fields that changed (``title``, ``tags``, ``legalHold``…).
    changed: list[str]
    #: "user", or the workflow/AI actor that changed it through ContentApi ("retention"
    #: when a purge removed a link to the purged document, "matching" when the tags' and
    #: types' matching rules added what a new document's text earned).
    via: str = "user"
    #: Set when this document changed only as the other side of a document link: the
    #: document whose edit (or deletion) added or removed the link here.
    linked_from: uuid.UUID | None = None


class DocumentTrashed(DocumentEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.document.trashed"


class DocumentRestored(DocumentEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.document.restored"


class DocumentPurged(DocumentEvent, kw_only=True, frozen=True):
    """Deleted for good: from the trash by a user, or by the retention purge."""

    event_type: ClassVar[str] = "content.document.purged"
    #: "user" (permanent delete) or "retention" (trash older than HUB_CONTENT_TRASH_DAYS).
    reason: str


class DocumentShared(DocumentEvent, kw_only=True, frozen=True):
    """Who may reach the document changed (restriction or shares)."""

    event_type: ClassVar[str] = "content.document.shared"
    restricted: bool
    user_ids: list[uuid.UUID]
    role_ids: list[uuid.UUID]


class DocumentDownloaded(DocumentEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.document.downloaded"
    version: int


class DocumentRead(DocumentEvent, kw_only=True, frozen=True):
    """Someone read a document whose type audits reads (``auditReads``): what they read
    (``metadata``, ``versions``, ``content``, ``thumbnail``, ``notes``, ``permissions``,
    ``links``, ``insights``, ``similar``) and, for a file or preview, which version."""

    event_type: ClassVar[str] = "content.document.read"
    what: str
    version: int | None = None


class ShareLinkCreated(DocumentEvent, kw_only=True, frozen=True):
    """A share link was made (the token itself is never in an event)."""

    event_type: ClassVar[str] = "content.document.share_link_created"
    link_id: uuid.UUID
    created_by: uuid.UUID
    #: The pinned version, or None: the link serves the current one.
    version: int | None
    expires_at: datetime


class ShareLinkRevoked(DocumentEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.document.share_link_revoked"
    link_id: uuid.UUID
    revoked_by: uuid.UUID


class ShareLinkUsed(DocumentEvent, kw_only=True, frozen=True):
    """Someone fetched the document through a share link (no account involved)."""

    event_type: ClassVar[str] = "content.document.share_link_used"
    link_id: uuid.UUID
    version: int


class NoteAdded(DocumentEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.document.note_added"
    note_id: uuid.UUID
    author_id: uuid.UUID
    #: People the author mentions (``@``): communication tells those who may read the
    #: document (``document.mentioned``).
    mentions: list[uuid.UUID] = msgspec.field(default_factory=list)


class TaxonomyEvent(IntegrationEvent, kw_only=True, frozen=True):
    """An organisation's tags, document types or custom fields changed (ids and names only)."""

    id: uuid.UUID
    name: str


class TagCreated(TaxonomyEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.tag.created"


class TagUpdated(TaxonomyEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.tag.updated"


class TagDeleted(TaxonomyEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.tag.deleted"


class DocumentTypeCreated(TaxonomyEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.document_type.created"
    #: Every read of its documents is audited (so turning it off is in the trail too).
    audit_reads: bool = False


class DocumentTypeUpdated(TaxonomyEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.document_type.updated"
    audit_reads: bool = False


class DocumentTypeDeleted(TaxonomyEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.document_type.deleted"


class CustomFieldCreated(TaxonomyEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.custom_field.created"


class CustomFieldUpdated(TaxonomyEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.custom_field.updated"


class CustomFieldDeleted(TaxonomyEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.custom_field.deleted"


class SavedViewEvent(TaxonomyEvent, kw_only=True, frozen=True):
    """A saved view was made, changed or deleted; ``shared``: every member sees it."""

    shared: bool


class SavedViewCreated(SavedViewEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.saved_view.created"


class SavedViewUpdated(SavedViewEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.saved_view.updated"
    #: The changed fields, by their wire names.
    changed: list[str]


class SavedViewDeleted(SavedViewEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "content.saved_view.deleted"
