"""HTTP bodies of the content context (camelCase on the wire)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from hub.content.domain.bulk import MAX_BULK_DOWNLOAD
from hub.content.domain.documents import MAX_ASN, MAX_COMMENT, MAX_TITLE
from hub.content.domain.field_filters import FIELD_FILTER_PATTERN, MAX_FIELD_FILTERS
from hub.content.domain.links import MAX_LINK_DAYS, MAX_MENTIONS, MAX_NOTE_CHARS
from hub.content.domain.mail import FOLDER_PATTERN
from hub.content.domain.pdf_pages import MAX_MERGED, MAX_OPERATIONS, MAX_PAGES, MAX_PARTS
from hub.content.domain.saved_views import MAX_IDS, MAX_WITHIN_DAYS
from hub.kernel.pagination import Page
from hub.kernel.structs import PatchSchema, Schema


class TagOut(Schema):
    id: uuid.UUID
    name: str


class ExtractionOut(Schema):
    #: Text extraction of the (current) version: ``pending`` until its job ran, then
    #: ``ready``, ``unsupported``, ``ocr_unavailable`` or ``failed``.
    status: Literal["pending", "ready", "failed", "unsupported", "ocr_unavailable"]


class DuplicateOut(Schema):
    """A document of the same organisation the caller may read: the same file
    (``similarity`` 1.0) or a near-duplicate text (estimated Jaccard similarity of word
    3-grams, at least 0.7)."""

    id: uuid.UUID
    similarity: float


class DocumentOut(Schema):
    id: uuid.UUID
    organisation_id: uuid.UUID
    title: str
    file_name: str
    media_type: str
    size: int
    sha256: str
    #: The current version's number (versions count from 1).
    version: int
    tags: list[TagOut]
    document_type_id: uuid.UUID | None
    custom_fields: dict[str, Any]
    #: The number on the paper original (Paperless-ngx's ASN), unique in the organisation.
    archive_serial_number: int | None
    owner_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    trashed_at: datetime | None
    extraction: ExtractionOut
    duplicates: list[DuplicateOut]
    restricted: bool
    legal_hold: bool


class VersionOut(Schema):
    version: int
    file_name: str
    size: int
    sha256: str
    media_type: str
    created_at: datetime
    created_by: uuid.UUID
    comment: str | None
    #: The older version whose file this one restored, if any.
    restored_from: int | None
    extraction: ExtractionOut


class DocumentPatch(PatchSchema):
    title: str | msgspec.UnsetType = msgspec.UNSET
    #: Replaces the document's tags: tag ids or names (unknown names become tags).
    tags: list[str] | msgspec.UnsetType = msgspec.UNSET
    document_type_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
    #: Replaces the custom fields (an object by field key).
    custom_fields: dict[str, Any] | msgspec.UnsetType | None = msgspec.UNSET
    #: content.admin only; a held document cannot be trashed, deleted or purged.
    legal_hold: bool | msgspec.UnsetType = msgspec.UNSET
    #: The number on the paper original; null removes it (409 ``asn_taken`` when another
    #: document of the organisation has it).
    archive_serial_number: (
        Annotated[int, msgspec.Meta(ge=1, le=MAX_ASN)] | msgspec.UnsetType | None
    ) = msgspec.UNSET


class NextAsnOut(Schema):
    #: One more than the organisation's highest archive serial number (1: none yet).
    next: int


class ShareIn(Schema, kw_only=True):
    user_id: uuid.UUID | None = None
    role_id: uuid.UUID | None = None
    access: Literal["view", "edit"]


class PermissionsIn(Schema):
    restricted: bool
    shares: list[ShareIn] = msgspec.field(default_factory=list)


class ShareOut(Schema, kw_only=True, omit_defaults=True):
    user_id: uuid.UUID | None = None
    role_id: uuid.UUID | None = None
    access: str


class PermissionsOut(Schema):
    restricted: bool
    shares: list[ShareOut]


class RestoreVersionIn(Schema):
    comment: str | None = None


class TagFacet(Schema):
    id: uuid.UUID
    name: str
    count: int


class TypeFacet(Schema):
    id: uuid.UUID
    count: int


class Facets(Schema, omit_defaults=True):
    tags: list[TagFacet] | None = None
    types: list[TypeFacet] | None = None


class DocumentPage(Page[DocumentOut]):
    """A page of documents; ``facets`` when the list asked for them (``facets=tags,types``):
    counts over every matching document the caller may read, not just this page."""

    facets: Facets | None = None


_Ids = Annotated[list[uuid.UUID], msgspec.Meta(max_length=MAX_IDS)]
_Instant = Annotated[datetime, msgspec.Meta(tz=True)]
_Condition = Annotated[str, msgspec.Meta(pattern=FIELD_FILTER_PATTERN)]
ViewSort = Literal["created", "updated", "title"]


class SavedViewFilters(Schema, kw_only=True):
    """The filters of ``GET /documents``, all applying; none: every document."""

    #: Documents carrying every one of these tags.
    tags: _Ids = msgspec.field(default_factory=list)
    #: For each: documents carrying the tag or a tag under it.
    tag_trees: _Ids = msgspec.field(default_factory=list)
    document_type_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    created_from: _Instant | None = None
    created_to: _Instant | None = None
    #: Created within this many days before the view runs (relative, re-read each run).
    created_within_days: Annotated[int, msgspec.Meta(ge=1, le=MAX_WITHIN_DAYS)] | None = None
    #: Custom-field conditions as the list's ``field=`` takes them, e.g. ``amount:gte:100``.
    fields: Annotated[list[_Condition], msgspec.Meta(max_length=MAX_FIELD_FILTERS)] = msgspec.field(
        default_factory=list
    )


class SavedViewIn(Schema, kw_only=True):
    name: str
    filters: SavedViewFilters = msgspec.field(default_factory=SavedViewFilters)
    sort: ViewSort = "created"
    #: Every member of the organisation sees it (needs content.taxonomy.manage).
    shared: bool = False
    show_on_dashboard: bool = False
    show_in_sidebar: bool = False


class SavedViewPatch(PatchSchema):
    name: str | msgspec.UnsetType = msgspec.UNSET
    filters: SavedViewFilters | msgspec.UnsetType = msgspec.UNSET
    sort: ViewSort | msgspec.UnsetType = msgspec.UNSET
    shared: bool | msgspec.UnsetType = msgspec.UNSET
    show_on_dashboard: bool | msgspec.UnsetType = msgspec.UNSET
    show_in_sidebar: bool | msgspec.UnsetType = msgspec.UNSET


class SavedViewOut(Schema):
    id: uuid.UUID
    organisation_id: uuid.UUID
    #: Who made it (null once they erased their account).
    owner_id: uuid.UUID | None
    name: str
    filters: SavedViewFilters
    sort: ViewSort
    shared: bool
    show_on_dashboard: bool
    show_in_sidebar: bool
    created_at: datetime
    updated_at: datetime


class ShareLinkIn(Schema, kw_only=True):
    #: Days until the link stops working (default 7).
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=MAX_LINK_DAYS)] | None = None
    #: Pin a version; without it the link serves whichever version is current.
    version: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)] | None = None


class ShareLinkOut(Schema):
    id: uuid.UUID
    document_id: uuid.UUID
    #: The pinned version, or None: the current one is served.
    version: int | None
    created_by: uuid.UUID
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    use_count: int


class ShareLinkCreatedOut(ShareLinkOut):
    #: ``{HUB_PUBLIC_URL}/api/v1/share/{token}``: shown this once, the token is not stored.
    url: str


class NoteIn(Schema):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NOTE_CHARS)]
    #: Members the note mentions (``@Ann`` in the text is the client's to render): those
    #: who may read the document are told (``document.mentioned``), anyone else is not.
    mentions: Annotated[
        list[uuid.UUID],
        msgspec.Meta(max_length=MAX_MENTIONS, extra_json_schema={"extra": {"uniqueItems": True}}),
    ] = []


class NoteOut(Schema):
    id: uuid.UUID
    document_id: uuid.UUID
    author_id: uuid.UUID
    text: str
    created_at: datetime


# --------------------------------------------------------------------------- taxonomy

FieldTypeName = Literal[
    "string",
    "text",
    "integer",
    "number",
    "monetary",
    "date",
    "boolean",
    "url",
    "select",
    "member",
    "document",
]


class MatchingRuleIn(Schema, kw_only=True):
    """Which documents' text earns the tag or type when they arrive (Paperless-ngx's
    matching): ``any`` of the pattern's words (``"quoted phrases"`` count as one),
    ``all`` of them, the ``literal`` text, or a ``regex`` (RE2 syntax: no
    back-references or look-arounds, 422 naming ``matching.pattern``); ``none`` (the
    default) matches nothing. Words and literals match whole words only."""

    algorithm: Literal["none", "any", "all", "literal", "regex"] = "none"
    pattern: Annotated[str, msgspec.Meta(max_length=256)] = ""
    case_sensitive: bool = False


class MatchingRuleOut(Schema):
    algorithm: str
    pattern: str
    case_sensitive: bool


class TagDefinitionOut(Schema):
    id: uuid.UUID
    name: str
    parent_id: uuid.UUID | None
    colour: str | None
    matching: MatchingRuleOut


class TagIn(Schema, kw_only=True):
    name: str
    #: The enclosing tag (tags nest at most 5 levels deep).
    parent_id: uuid.UUID | None = None
    #: ``#rrggbb``.
    colour: str | None = None
    matching: MatchingRuleIn | None = None


class TagPatch(PatchSchema):
    name: str | msgspec.UnsetType = msgspec.UNSET
    parent_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
    colour: str | msgspec.UnsetType | None = msgspec.UNSET
    #: Replaces the whole rule (``null``: no matching).
    matching: MatchingRuleIn | msgspec.UnsetType | None = msgspec.UNSET


class DocumentTypeOut(Schema):
    id: uuid.UUID
    name: str
    description: str
    matching: MatchingRuleOut
    #: Every read of a document of this type is in the audit trail
    #: (``content.document.read``).
    audit_reads: bool = False


class DocumentTypeIn(Schema, kw_only=True):
    name: str
    description: str = ""
    audit_reads: bool = False
    matching: MatchingRuleIn | None = None


class DocumentTypePatch(PatchSchema):
    name: str | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType = msgspec.UNSET
    audit_reads: bool | msgspec.UnsetType = msgspec.UNSET
    #: Replaces the whole rule (``null``: no matching).
    matching: MatchingRuleIn | msgspec.UnsetType | None = msgspec.UNSET


class CustomFieldOut(Schema):
    id: uuid.UUID
    #: The key of the field in documents' ``customFields``.
    key: str
    name: str
    type: FieldTypeName
    #: The choices of a ``select`` field.
    options: list[str]


class CustomFieldIn(Schema, kw_only=True):
    key: str
    name: str
    type: FieldTypeName
    options: list[str] | None = None


class CustomFieldPatch(PatchSchema):
    name: str | msgspec.UnsetType = msgspec.UNSET
    options: list[str] | msgspec.UnsetType = msgspec.UNSET
    #: Fixed at creation: another type is a 422 ``field_type_immutable``.
    type: FieldTypeName | msgspec.UnsetType = msgspec.UNSET


# --------------------------------------------------------------------------- bulk edit

#: The most documents one bulk edit names (``POST /documents/bulk``).
MAX_BULK_DOCUMENTS = 500
#: A tag of a bulk tag edit: a tag id, or a name (at most 64 characters).
BulkTag = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
BulkTags = Annotated[list[BulkTag], msgspec.Meta(min_length=1, max_length=50)]


class BulkOperation(Schema, tag_field="kind", forbid_unknown_fields=True):
    """One change applied to every named document; ``kind`` says which, and each kind
    carries exactly its own fields (anything else is a 400)."""


class AddTagsOp(BulkOperation, tag="addTags"):
    #: Tag ids or names; unknown names become the organisation's tags (as on upload).
    tags: BulkTags


class RemoveTagsOp(BulkOperation, tag="removeTags"):
    #: Tag ids or names of the organisation's existing tags (unknown ones: 422).
    tags: BulkTags


class SetDocumentTypeOp(BulkOperation, tag="setDocumentType"):
    #: A document type of the organisation; null clears the type.
    document_type_id: uuid.UUID | None


class SetCustomFieldOp(BulkOperation, tag="setCustomField"):
    #: A defined custom field's key; the other fields of each document are kept.
    key: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")]
    #: A value of the field's type; null removes the key.
    value: Any


class TrashOp(BulkOperation, tag="trash"):
    pass


class RestoreOp(BulkOperation, tag="restore"):
    pass


class ShareOp(BulkOperation, tag="share", kw_only=True):
    #: Exactly one of userId and roleId (422 otherwise): a member or a role of the
    #: organisation. The share replaces that subject's share; others stay as they are.
    user_id: uuid.UUID | None = None
    role_id: uuid.UUID | None = None
    access: Literal["view", "edit"]


BulkOperationIn = (
    AddTagsOp | RemoveTagsOp | SetDocumentTypeOp | SetCustomFieldOp | TrashOp | RestoreOp | ShareOp
)


class BulkIn(Schema, forbid_unknown_fields=True):
    example: ClassVar[dict[str, Any]] = {
        "organisationId": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "documentIds": ["0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a60"],
        "operation": {"kind": "addTags", "tags": ["invoice", "2026"]},
    }

    organisation_id: uuid.UUID
    #: 1 to 500 distinct documents of the organisation.
    document_ids: Annotated[
        list[uuid.UUID],
        msgspec.Meta(
            min_length=1,
            max_length=MAX_BULK_DOCUMENTS,
            extra_json_schema={"extra": {"uniqueItems": True}},
        ),
    ]
    operation: BulkOperationIn


class BulkOut(Schema):
    #: How many of the documents the operation changed (the others already were so).
    updated: int
    #: Every named document as it now is, in the order of ``documentIds``.
    items: list[DocumentOut]


_Page = Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGES)]
_Pages = Annotated[
    list[_Page],
    msgspec.Meta(
        min_length=1,
        max_length=MAX_PAGES,
        # Litestar drops an item's bounds from the document: state them on the list.
        extra_json_schema={
            "extra": {"items": {"type": "integer", "minimum": 1, "maximum": MAX_PAGES}}
        },
    ),
]


class PageOperation(Schema, tag_field="kind", forbid_unknown_fields=True):
    """One change to the pages; page numbers count from 1 as the pages stand after the
    operations before it."""


class RotatePages(PageOperation, tag="rotate"):
    pages: _Pages
    #: Clockwise.
    degrees: Literal[90, 180, 270]


class DeletePages(PageOperation, tag="delete"):
    pages: _Pages


class ReorderPages(PageOperation, tag="reorder"):
    #: Every page exactly once, in the new order (``[3, 1, 2]``: the third page first).
    order: _Pages


class PagesEditIn(Schema, forbid_unknown_fields=True):
    example: ClassVar[dict[str, Any]] = {
        "operations": [
            {"kind": "delete", "pages": [2]},
            {"kind": "rotate", "pages": [1], "degrees": 90},
        ],
        "comment": "Blank page removed",
    }

    operations: Annotated[
        list[RotatePages | DeletePages | ReorderPages],
        msgspec.Meta(min_length=1, max_length=MAX_OPERATIONS),
    ]
    #: The new version's comment (default "Pages edited").
    comment: Annotated[str, msgspec.Meta(max_length=MAX_COMMENT)] | None = None


class PageRange(Schema, forbid_unknown_fields=True):
    from_: _Page = msgspec.field(name="from")
    to: _Page


class SplitIn(Schema, forbid_unknown_fields=True):
    example: ClassVar[dict[str, Any]] = {"parts": [{"from": 1, "to": 2}, {"from": 3, "to": 5}]}

    #: Each part (pages ``from`` to ``to``, inclusive) becomes a document; parts must
    #: not overlap and need not cover every page.
    parts: Annotated[list[PageRange], msgspec.Meta(min_length=1, max_length=MAX_PARTS)]
    #: Move the source to the trash in the same transaction (its delete right; not under
    #: legal hold). Restoring it from the trash undoes that part.
    delete_original: bool = False


class SplitOut(Schema):
    #: The new documents, in the order of ``parts``.
    items: list[DocumentOut]


class MergeIn(Schema, forbid_unknown_fields=True):
    example: ClassVar[dict[str, Any]] = {
        "organisationId": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "documentIds": [
            "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a60",
            "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a61",
        ],
    }

    organisation_id: uuid.UUID
    #: 2 to 50 distinct PDF documents of the organisation, in the order of the result.
    document_ids: Annotated[
        list[uuid.UUID],
        msgspec.Meta(
            min_length=2,
            max_length=MAX_MERGED,
            extra_json_schema={"extra": {"uniqueItems": True}},
        ),
    ]
    #: The new document's title (default: the first document's).
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TITLE)] | None = None
    #: Move the sources to the trash in the same transaction (the delete right on each;
    #: none under legal hold).
    delete_originals: bool = False


class BulkDownloadIn(Schema, forbid_unknown_fields=True):
    example: ClassVar[dict[str, Any]] = {
        "organisationId": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "documentIds": ["0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a60"],
    }

    organisation_id: uuid.UUID
    #: 1 to 100 distinct documents of the organisation, in the order of the zip.
    document_ids: Annotated[
        list[uuid.UUID],
        msgspec.Meta(
            min_length=1,
            max_length=MAX_BULK_DOWNLOAD,
            extra_json_schema={"extra": {"uniqueItems": True}},
        ),
    ]


class SearchHit(Schema):
    id: uuid.UUID
    title: str
    #: Relevance (higher is better); typo-tolerant matches score below any full-text hit.
    score: float
    #: HTML: the document's text escaped; matches wrapped in ``<mark>``…``</mark>``.
    snippet: str


class SemanticBasis(Schema):
    """How the meaning-based side of a hybrid search ranked: ``vectors`` (the
    organisation's document vectors took part) or ``none`` (no model yet: the hits are the
    full-text ranking alone), with ``reason``."""

    basis: Literal["vectors", "none"]
    reason: str | None = None


class SearchPage(Page[SearchHit]):
    """A page of hits; ``fuzzy``: full text found nothing, these are typo-tolerant title
    and tag matches; ``semantic``: only with ``mode=hybrid``."""

    fuzzy: bool = False
    facets: Facets | None = None
    semantic: SemanticBasis | None = None


class Suggestion(Schema):
    #: ``title`` (``id`` is a document) or ``tag`` (``id`` is a tag).
    kind: Literal["title", "tag"]
    id: uuid.UUID
    text: str


class Suggestions(Schema):
    items: list[Suggestion]


class SearchSettingsIn(Schema):
    #: One of ``GET /orgs/{orgId}/search-settings``'s ``languages``.
    language: str


class SearchSettingsOut(Schema):
    language: str
    languages: list[str]


# --------------------------------------------------------------------------- audit trail


class AuditEntryOut(Schema):
    id: uuid.UUID
    occurred_at: datetime
    #: None on the platform chain.
    organisation_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    #: "user", "api_key", "system", "workflow", "ai" or "anonymous" (a share link).
    actor_type: str
    #: The event type, e.g. ``content.document.downloaded``.
    action: str
    entity_type: str | None
    entity_id: str | None
    correlation_id: str | None
    request_id: str | None
    client_address: str | None
    #: What changed, without secrets (no tokens, hashes, passwords, keys).
    summary: dict[str, Any]
    #: Position in its chain (1, 2, …) and the chained SHA-256.
    seq: int
    recorded_at: datetime
    hash: str


class AuditVerificationOut(Schema, omit_defaults=True):
    ok: bool
    #: Entries checked (up to the first broken one).
    entries: int
    #: Signed checkpoints of the chain.
    checkpoints: int
    #: Set when ``ok`` is false and an entry can be named.
    first_broken_entry_id: uuid.UUID | None = None
    #: Set when ``ok`` is false: ``entry_altered``, ``entry_missing``, ``link_broken``,
    #: ``entries_missing_at_end``, ``checkpoint_mismatch``, ``checkpoint_signature_invalid``,
    #: ``anchor_invalid`` or ``chain_missing``.
    reason: str | None = None


class AuditCheckpointOut(Schema):
    id: uuid.UUID
    #: The organisation's id, or the nil UUID for the platform chain.
    chain_id: uuid.UUID
    seq: int
    hash: str
    signed_at: datetime


# --------------------------------------------------------------------------- erasure


class ErasurePolicyIn(Schema):
    example: ClassVar[dict[str, Any]] = {"departedOwnerDocuments": "transfer"}

    #: What becomes of the documents of an owner who erases their account: ``transfer``
    #: (to an owner of the organisation, kept) or ``trash`` (transferred, then trashed).
    departed_owner_documents: Literal["transfer", "trash"]


class ErasurePolicyOut(Schema):
    departed_owner_documents: str


# --------------------------------------------------------------------------- mail

MailName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
MailHost = Annotated[str, msgspec.Meta(min_length=1, max_length=253)]
MailPort = Annotated[int, msgspec.Meta(ge=1, le=65535)]
MailSecurity = Literal["ssl", "starttls", "none"]
MailUser = Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
MailPassword = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
MailFolder = Annotated[str, msgspec.Meta(pattern=FOLDER_PATTERN, max_length=200)]
MailFilter = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
MailAction = Literal["mark_read", "flag", "move", "delete"]
MailTitle = Literal["subject", "filename"]
MailConsumption = Literal["attachments", "mail", "everything"]
MailAge = Annotated[int, msgspec.Meta(ge=0, le=36_500)]
MailPosition = Annotated[int, msgspec.Meta(ge=0, le=1000)]
MailTags = Annotated[list[uuid.UUID], msgspec.Meta(max_length=20)]


class MailAccountIn(Schema):
    name: MailName
    host: MailHost
    username: MailUser
    password: MailPassword
    #: ``ssl`` (implicit TLS, port 993), ``starttls`` (143) or ``none`` (143; plain text).
    security: MailSecurity = "ssl"
    #: Default: the security's port.
    port: MailPort | None = None
    enabled: bool = True


class MailAccountPatch(PatchSchema):
    name: MailName | msgspec.UnsetType = msgspec.UNSET
    host: MailHost | msgspec.UnsetType = msgspec.UNSET
    port: MailPort | msgspec.UnsetType = msgspec.UNSET
    security: MailSecurity | msgspec.UnsetType = msgspec.UNSET
    username: MailUser | msgspec.UnsetType = msgspec.UNSET
    #: A new password replaces the sealed one.
    password: MailPassword | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class MailAccountOut(Schema):
    """A mail account as the API shows it: never its password."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    host: str
    port: int
    security: str
    username: str
    enabled: bool
    #: Whose documents its mail becomes: who created or last changed the account.
    owner_id: uuid.UUID | None
    last_checked_at: datetime | None
    #: Why the last read failed (never the password); null when it worked.
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class MailTestOut(Schema):
    ok: bool
    #: The account's folders, when it could sign in.
    folders: list[str]
    error: str | None


class MailRuleIn(Schema):
    account_id: uuid.UUID
    name: MailName
    folder: MailFolder = "INBOX"
    #: Case-insensitive text the sender (name or address) must contain.
    filter_from: MailFilter | None = None
    #: Case-insensitive text the subject must contain.
    filter_subject: MailFilter | None = None
    #: Case-insensitive text the recipients (To, Cc, Delivered-To) must contain.
    filter_to: MailFilter | None = None
    #: Case-insensitive text the body (its plain text, or its HTML's) must contain.
    filter_body: MailFilter | None = None
    #: A file-name pattern the attachments must match (``*.pdf``, ``invoice-*``).
    filter_attachment: MailFilter | None = None
    #: A file-name pattern of attachments left out (``logo*``, ``*.png``).
    filter_attachment_exclude: MailFilter | None = None
    #: What becomes documents: each attachment taken, the mail itself as one ``.eml``
    #: document, or both.
    consumption: MailConsumption = "attachments"
    #: Mails older than this many days are left alone (0: any age).
    max_age_days: MailAge = 30
    #: What happens to a mail once it became documents.
    action: MailAction = "mark_read"
    #: The folder ``move`` moves it to.
    action_folder: MailFolder | None = None
    #: The document's title: the mail's subject, or the attachment's file name.
    title_from: MailTitle = "subject"
    tag_ids: MailTags = []
    document_type_id: uuid.UUID | None = None
    #: Rules of an account run in this order.
    position: MailPosition = 0
    enabled: bool = True


class MailRulePatch(PatchSchema):
    name: MailName | msgspec.UnsetType = msgspec.UNSET
    folder: MailFolder | msgspec.UnsetType = msgspec.UNSET
    filter_from: MailFilter | msgspec.UnsetType | None = msgspec.UNSET
    filter_subject: MailFilter | msgspec.UnsetType | None = msgspec.UNSET
    filter_to: MailFilter | msgspec.UnsetType | None = msgspec.UNSET
    filter_body: MailFilter | msgspec.UnsetType | None = msgspec.UNSET
    filter_attachment: MailFilter | msgspec.UnsetType | None = msgspec.UNSET
    filter_attachment_exclude: MailFilter | msgspec.UnsetType | None = msgspec.UNSET
    consumption: MailConsumption | msgspec.UnsetType = msgspec.UNSET
    max_age_days: MailAge | msgspec.UnsetType = msgspec.UNSET
    action: MailAction | msgspec.UnsetType = msgspec.UNSET
    action_folder: MailFolder | msgspec.UnsetType | None = msgspec.UNSET
    title_from: MailTitle | msgspec.UnsetType = msgspec.UNSET
    tag_ids: MailTags | msgspec.UnsetType = msgspec.UNSET
    document_type_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
    position: MailPosition | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class MailRuleOut(Schema):
    id: uuid.UUID
    organisation_id: uuid.UUID
    account_id: uuid.UUID
    name: str
    position: int
    enabled: bool
    folder: str
    filter_from: str | None
    filter_subject: str | None
    filter_to: str | None
    filter_body: str | None
    filter_attachment: str | None
    filter_attachment_exclude: str | None
    consumption: str
    max_age_days: int
    action: str
    action_folder: str | None
    title_from: str
    tag_ids: list[uuid.UUID]
    document_type_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class MailProcessedOut(Schema):
    """A mail a rule dealt with."""

    uid: int
    uid_validity: int
    message_id: str | None
    subject: str
    sender: str
    #: consumed (``documentIds`` made), skipped (the rule's filters, or no attachment it
    #: takes: left alone) or failed (what it would have made was refused: ``error`` says
    #: why).
    status: str
    error: str | None
    document_ids: list[uuid.UUID]
    processed_at: datetime


# --------------------------------------------------------------------------- consume folder


class ConsumeFolderIn(Schema):
    """What the organisation's consumption folder does (the caller becomes its owner)."""

    enabled: bool = True
    #: Tags every document from the folder gets.
    tag_ids: MailTags = []
    document_type_id: uuid.UUID | None = None
    #: Each subfolder of a file's path becomes a tag (``Invoices/2026/a.pdf``: the tags
    #: ``Invoices`` and ``2026``, made when new).
    subfolders_as_tags: bool = False


class ConsumeFolderOut(Schema):
    organisation_id: uuid.UUID
    #: The folder below HUB_CONTENT_CONSUME_DIR this organisation reads: its id.
    folder: str
    enabled: bool
    #: Whose documents the files become: who saved the settings last.
    owner_id: uuid.UUID | None
    tag_ids: list[uuid.UUID]
    document_type_id: uuid.UUID | None
    subfolders_as_tags: bool
    last_scanned_at: datetime | None
    #: Why the last scan could not read the folder; null when it could.
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class ConsumedFileOut(Schema):
    """A file taken from the folder."""

    id: uuid.UUID
    #: Its path below the organisation's folder.
    name: str
    size: int
    #: processing (being made into a document), consumed (``documentId``; the file is
    #: deleted) or failed (the upload rules refused it: ``error``; the file is in
    #: ``.hub/failed/``).
    status: str
    error: str | None
    document_id: uuid.UUID | None
    claimed_at: datetime
    settled_at: datetime | None
