"""Wires the content context: its services (built once from its runtime), routes, tables,
permissions and jobs. Only ``hub.app``, ``hub.cli`` and ``hub.worker`` import this."""

from __future__ import annotations

import uuid
from typing import Any, cast

from hub.content.api import ContentApi, ContentConfigApi
from hub.content.cli import audit, documents_group, thumbnails_group
from hub.content.controllers.audit import AuditController
from hub.content.controllers.bulk import BulkController
from hub.content.controllers.bulk_download import BulkDownloadController
from hub.content.controllers.consume import ConsumeFolderController
from hub.content.controllers.documents import DocumentController
from hub.content.controllers.erasure import ErasurePolicyController
from hub.content.controllers.links import DocumentLinksController, ShareController
from hub.content.controllers.mail import MailAccountController, MailRuleController
from hub.content.controllers.pages import PagesController
from hub.content.controllers.saved_views import SavedViewController
from hub.content.controllers.search import SearchController, SearchSettingsController
from hub.content.controllers.taxonomy import (
    CustomFieldController,
    DocumentTypeController,
    TagController,
)
from hub.content.controllers.thumbnails import ThumbnailController
from hub.content.domain.access import PERMISSIONS
from hub.content.domain.audit import CheckpointSigner
from hub.content.domain.settings import ContentSettings
from hub.content.facade import ContentConfigFacade, ContentFacade
from hub.content.handlers import AUDIT_FEED, on_member_removed, on_user_erased
from hub.content.handlers.org_purge import on_organisation_purged
from hub.content.models import Base, MailAccount
from hub.content.repositories.blobs import blob_store
from hub.content.repositories.blobs.base import BlobStore
from hub.content.services.access import DocumentAccess
from hub.content.services.audit import AuditLog
from hub.content.services.audit_erasure import AuditPseudonymiser
from hub.content.services.barcode_metadata import BarcodeRules
from hub.content.services.blobs import Blobs
from hub.content.services.bulk import BulkService
from hub.content.services.bulk_download import BulkDownloadService
from hub.content.services.consume_folders import ConsumeFolders
from hub.content.services.consume_scan import FolderConsumer
from hub.content.services.doclinks import DocumentLinks
from hub.content.services.documents import DocumentService
from hub.content.services.downloads import DownloadService
from hub.content.services.erasure import ContentErasure, ErasurePolicies
from hub.content.services.links import NoteService, ShareLinkService
from hub.content.services.mail_accounts import SEAL_PURPOSE as MAIL_SEAL
from hub.content.services.mail_accounts import MailAccounts
from hub.content.services.mail_fetch import MailFetcher
from hub.content.services.matching import Retagging
from hub.content.services.org_purge import ContentOrgPurge
from hub.content.services.pdf_editing import PdfEditing
from hub.content.services.personal_data import ContentPersonalData
from hub.content.services.saved_views import SavedViewService
from hub.content.services.search import SearchService
from hub.content.services.sharing import SharingService
from hub.content.services.storing import FileIntake
from hub.content.services.taxonomy import MetadataRules, TaxonomyService
from hub.content.services.text_extraction import ExtractionRequests, TextExtraction
from hub.content.services.thumbnails import ThumbnailRequests, ThumbnailService
from hub.content.services.trash import TrashService
from hub.content.services.uploads import UploadService
from hub.content.tasks import (
    AUDIT_CHECKPOINT_HOURLY,
    AUDIT_MAINTAIN_DAILY,
    CONSUME_EVERY_MINUTE,
    FETCH_MAIL_EVERY_MINUTE,
    PURGE_HOURLY,
    checkpoint_audit,
    consume_folder,
    consume_folders_due,
    extract_text,
    fetch_mail,
    fetch_mail_due,
    maintain_audit,
    make_thumbnail,
    purge_trash,
)
from hub.identity.api import IdentityApi, MemberRemoved, OrganisationPurged, UserErased
from hub.kernel.contexts import ContextModule
from hub.kernel.egress import AddressPolicy
from hub.kernel.personal_data import PersonalDataApi
from hub.kernel.remote.interface import describe
from hub.kernel.runtime import ContextRuntime
from hub.kernel.sealing import Sealer, configured_key_ids
from hub.kernel.secret_rotation import SealedColumn, SealedColumns
from hub.kernel.subscribers import Handler, Subscription


def open_blob_store(rt: ContextRuntime) -> BlobStore:
    """The blob store ``HUB_STORAGE_URL`` names (filesystem under HUB_DATA_DIR by default)."""
    return blob_store(rt.config.storage_url, rt.settings.data_dir)


def services(rt: ContextRuntime, *, identity_api: IdentityApi) -> dict[str, Any]:
    """Every use case of content, wired once per process."""
    store, clock = rt.store, rt.clock
    settings: ContentSettings = rt.config
    files = open_blob_store(rt)
    access = DocumentAccess(store, rt.tenancy)
    blobs = Blobs(store, files, clock)
    intake = FileIntake(store, files, settings)
    metadata = MetadataRules(identity_api)
    links = DocumentLinks(clock)
    documents = DocumentService(store, access, clock, metadata, links)
    downloads = DownloadService(store, access, files)
    thumbnail_requests = ThumbnailRequests(rt.queue_job)
    sharing = SharingService(store, access, identity_api, clock)
    requests = ExtractionRequests(rt.queue_job)
    taxonomy = TaxonomyService(store)
    uploads = UploadService(
        store, access, intake, blobs, clock, metadata, links, thumbnail_requests, requests
    )
    trash = TrashService(store, access, blobs, clock, settings.content_trash_days, links)
    signer = CheckpointSigner([rt.settings.secret_key, *rt.settings.secret_key_previous])
    mail_sealer = Sealer.from_settings(rt.settings, MAIL_SEAL)
    mail_accounts = MailAccounts(
        store,
        clock,
        mail_sealer,
        AddressPolicy.of(settings.content_mail_allowed_networks),
        metadata,
    )
    consume_root = settings.content_consume_dir
    return {
        "consume_folders": ConsumeFolders(store, clock, metadata, rt.queue_job, consume_root),
        "folder_consumer": FolderConsumer(
            store,
            clock,
            uploads,
            identity_api,
            rt.queue_job,
            root=consume_root,
            settle_seconds=settings.content_consume_settle_seconds,
        ),
        "mail_accounts": mail_accounts,
        "mail_fetcher": MailFetcher(
            store,
            clock,
            mail_accounts,
            uploads,
            identity_api,
            rt.queue_job,
            poll_minutes=settings.content_mail_poll_minutes,
            max_mail_bytes=settings.max_upload_bytes * 4 // 3 + 1024 * 1024,
        ),
        "content_secret_rotation": SealedColumns(
            store,
            configured_key_ids(rt.settings),
            [
                SealedColumn(
                    "mail account passwords",
                    MailAccount,
                    "id",
                    "password_sealed",
                    mail_sealer,
                    _row_id,
                )
            ],
        ),
        "content_settings": settings,
        "blob_store": files,
        "documents": documents,
        "uploads": uploads,
        "downloads": downloads,
        "bulk_download": BulkDownloadService(downloads, settings.content_bulk_download_max_bytes),
        "sharing": sharing,
        "share_links": ShareLinkService(store, access, files, clock, str(rt.settings.public_url)),
        "document_notes": NoteService(store, access, clock),
        "trash": trash,
        "taxonomy": taxonomy,
        "saved_views": SavedViewService(store, documents, clock),
        "pdf_editing": PdfEditing(store, access, files, uploads, settings, trash),
        "content_api": ContentFacade(store, identity_api, documents, sharing),
        "content_config": ContentConfigFacade(store, taxonomy),
        "thumbnails": ThumbnailService(store, downloads, files, blobs, clock, thumbnail_requests),
        "bulk_edits": BulkService(store, access, metadata, sharing, clock),
        "retagging": Retagging(store, clock),
        "text_extraction": TextExtraction(
            store,
            files,
            clock,
            requests,
            timeout_seconds=settings.content_extraction_timeout_seconds,
            memory_mb=settings.content_extraction_memory_mb,
            languages=settings.content_ocr_languages,
            barcodes=BarcodeRules(
                pages=settings.content_barcode_pages,
                asn_prefix=settings.content_barcode_asn_prefix,
                tag_prefix=settings.content_barcode_tag_prefix,
            )
            if settings.content_barcode_pages
            else None,
        ),
        "search": SearchService(store, semantic=rt.semantic),
        "content_org_purge": ContentOrgPurge(store, blobs),
        "audit_log": AuditLog(store, rt.tenancy, clock, signer, settings.audit_retention_days),
        "content_erasure": ContentErasure(identity_api, AuditPseudonymiser(signer, clock), clock),
        "content_personal_data": ContentPersonalData(store),
        "erasure_policies": ErasurePolicies(store),
    }


async def stop(*, blob_store: BlobStore) -> None:
    await blob_store.close()


def build() -> ContextModule:
    return ContextModule(
        name="content",
        metadata=Base.metadata,
        depends_on=("identity",),
        settings=ContentSettings,
        services=services,
        route_handlers=[
            DocumentController,
            DocumentLinksController,
            ShareController,
            TagController,
            DocumentTypeController,
            CustomFieldController,
            ThumbnailController,
            BulkController,
            SearchController,
            SearchSettingsController,
            AuditController,
            ErasurePolicyController,
            SavedViewController,
            PagesController,
            BulkDownloadController,
            MailAccountController,
            MailRuleController,
            ConsumeFolderController,
        ],
        permissions=PERMISSIONS,
        jobs=[
            purge_trash,
            make_thumbnail,
            extract_text,
            maintain_audit,
            checkpoint_audit,
            fetch_mail,
            fetch_mail_due,
            consume_folder,
            consume_folders_due,
        ],
        periodic=[
            PURGE_HOURLY,
            AUDIT_MAINTAIN_DAILY,
            AUDIT_CHECKPOINT_HOURLY,
            FETCH_MAIL_EVERY_MINUTE,
            CONSUME_EVERY_MINUTE,
        ],
        catch_all=[AUDIT_FEED],
        subscriptions=[
            Subscription(
                OrganisationPurged,
                cast(Handler, on_organisation_purged),  # its service is injected by name
                name="content.organisation_purged",
            ),
            Subscription(
                UserErased,
                cast(Handler, on_user_erased),  # its service is injected by name
                name="content.user_erased",
            ),
            Subscription(
                MemberRemoved,
                cast(Handler, on_member_removed),  # its services are injected by name
                name="content.member_removed",
            ),
        ],
        on_shutdown=[stop],
        cli_commands=[thumbnails_group, documents_group, audit],
        interfaces=(
            describe("content", ContentApi, "content_api"),
            describe("content", ContentConfigApi, "content_config"),
            describe("content", PersonalDataApi, "content_personal_data"),
        ),
        personal_data="content_personal_data",
        secrets="content_secret_rotation",
    )


def _row_id(key: uuid.UUID) -> bytes:
    return key.bytes
