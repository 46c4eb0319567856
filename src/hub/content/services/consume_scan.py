"""Turning the files of consumption folders into documents: every minute
``content.consume_folders_due`` queues a ``content.consume_folder`` job per enabled
folder, which scans it and consumes up to ``MAX_FILES_PER_SCAN`` settled files, the
oldest first.

Several workers (or hub processes sharing the folder over a network file system) may
scan one folder at once: a file is **claimed** by recording it (``processing``) and then
renaming it into the hub's ``.hub/processing/<claim id>`` — a rename within one file
system is atomic, so exactly one worker gets it; the others find it gone and forget
their record. The document is written in the same transaction that marks the claim
``consumed``; only then is the file deleted. A file the upload rules refuse (its type,
its size, the quota) moves to ``.hub/failed/`` under its own path, the reason recorded.

A worker that dies leaves its claim behind; the next scan sorts the claims it finds:
``consumed`` (the document was committed) → the file is deleted; ``failed`` → moved to
``failed/``; still ``processing`` after ``LEASE`` → the file goes back where it was found
and the claim is forgotten, so it is consumed once, later. Nothing is lost and nothing is
made twice.
"""

from __future__ import annotations

import asyncio
import os
import stat
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from hub.content.domain.access import Caller
from hub.content.domain.consume import (
    FAILED,
    LEASE,
    MAX_DEPTH,
    MAX_ENTRIES_PER_SCAN,
    MAX_ERROR,
    MAX_FILES_PER_SCAN,
    OWN,
    PROCESSING,
    RECORD_DAYS,
    folder_tags,
    ignored,
    settled,
    shown,
)
from hub.content.domain.documents import TagRefs
from hub.content.repositories import consume, taxonomy
from hub.content.services.access import writing_owner
from hub.content.services.consume_folders import CONSUME_FOLDER
from hub.content.services.storing import LocalFile
from hub.content.services.uploads import Metadata, UploadService
from hub.identity.api import IdentityApi
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import AppError
from hub.kernel.schema import new_id
from hub.kernel.store import Store

log = structlog.get_logger("hub.content")


class FolderUnusable(Exception):
    """The folder cannot be read now (shown as the folder's ``lastError``)."""


@dataclass(frozen=True)
class Found:
    path: Path
    #: Its path below the organisation's folder, one part per level.
    parts: tuple[str, ...]
    size: int
    modified: datetime


def found_files(base: Path, now: datetime, settle_seconds: int) -> list[Found]:
    """The settled regular files below ``base``, the oldest first: hidden and ignored
    names, symbolic links and special files left alone, at most ``MAX_DEPTH`` folders
    deep and ``MAX_ENTRIES_PER_SCAN`` entries looked at."""
    out: list[Found] = []
    pending: list[tuple[Path, tuple[str, ...]]] = [(base, ())]
    looked = 0
    while pending and looked < MAX_ENTRIES_PER_SCAN:
        folder, prefix = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # removed or unreadable meanwhile
        for entry in entries:
            looked += 1
            parts = (*prefix, entry.name)
            if ignored(parts):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode) and len(parts) <= MAX_DEPTH:
                pending.append((Path(entry.path), parts))
            elif stat.S_ISREG(info.st_mode) and info.st_size > 0:  # empty: still being made
                modified = datetime.fromtimestamp(info.st_mtime, UTC)
                if settled(modified, now, settle_seconds):
                    out.append(Found(Path(entry.path), parts, info.st_size, modified))
    return sorted(out, key=lambda f: (f.modified, f.parts))[:MAX_FILES_PER_SCAN]


def _below(base: Path, name: str) -> Path:
    """A recorded path (``a/b.pdf``) under ``base``, never outside it."""
    parts = [p for p in name.split("/") if p not in ("", ".", "..")]
    return base.joinpath(*parts) if parts else base / "file"


def _free(target: Path, claim: uuid.UUID) -> Path:
    """``target``, or beside it with the claim in its name when a file has that name."""
    if not target.exists():
        return target
    return target.with_name(f"{target.stem} ({claim}){target.suffix}")


def _move(source: Path, target: Path, claim: uuid.UUID) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(source, _free(target, claim))


class FolderConsumer:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        uploads: UploadService,
        identity: IdentityApi,
        queue_job: Callable[..., uuid.UUID],
        *,
        root: Path | None,
        settle_seconds: int,
    ) -> None:
        self.store, self.clock, self.uploads = store, clock, uploads
        self.identity, self.queue_job = identity, queue_job
        self.root, self.settle_seconds = root, settle_seconds

    async def due(self) -> int:
        """The periodic ``content.consume_folders_due``: queue a scan of every enabled
        folder, and forget records older than ``RECORD_DAYS``."""
        if self.root is None:
            return 0
        rows = await consume.enabled(self.store)
        async with self.store.uow() as uow:
            for row in rows:
                self.queue_job(uow, CONSUME_FOLDER, str(row.organisation_id))
            await consume.prune(uow.session, self.clock() - timedelta(days=RECORD_DAYS))
            await uow.commit()
        return len(rows)

    async def scan(self, organisation_id: uuid.UUID) -> int:
        """Consume what the organisation's folder holds (the ``content.consume_folder``
        job); the documents made."""
        row = await consume.folder(self.store, organisation_id)
        if self.root is None or row is None or not row.enabled:
            return 0
        base = self.root / str(organisation_id)
        made, error = 0, None
        try:
            caller = await self._caller(row)
            await asyncio.to_thread((base / OWN / PROCESSING).mkdir, parents=True, exist_ok=True)
            await self._recover(base, organisation_id)
            files = await asyncio.to_thread(found_files, base, self.clock(), self.settle_seconds)
            tags = await taxonomy.live_tags(self.store, organisation_id, list(row.tag_ids))
            type_id = await taxonomy.live_type(self.store, organisation_id, row.document_type_id)
            for found in files:
                names = folder_tags(found.parts) if row.subfolders_as_tags else ()
                meta = Metadata(
                    title=None,
                    tags=TagRefs(tuple(tags), names),
                    document_type_id=type_id,
                    custom_fields={},
                    origin="folder",
                    origin_ref=shown("/".join(found.parts)),
                )
                made += await self._consume(caller, base, found, meta)
        except (FolderUnusable, OSError) as exc:
            # the server's own path is the operator's business, not the organisation's
            error = str(exc).replace(str(self.root), "HUB_CONTENT_CONSUME_DIR")[:MAX_ERROR]
            log.warning("consume_folder_failed", organisation_id=str(organisation_id), error=error)
        async with self.store.uow() as uow:
            await consume.scanned(uow.session, organisation_id, self.clock(), error)
            await uow.commit()
        return made

    async def _caller(self, row: Any) -> Caller:
        caller = await writing_owner(self.identity, row.organisation_id, row.owner_id)
        if caller is None:
            raise FolderUnusable(
                "the folder's owner is no longer a member who may add documents: "
                "save its settings again as one who may"
            )
        return caller

    async def _consume(self, caller: Caller, base: Path, found: Found, meta: Metadata) -> int:
        claim = new_id()
        now = self.clock()
        async with self.store.uow() as uow:
            await uow.session.execute(
                consume.files.insert().values(
                    id=claim,
                    organisation_id=caller.organisation_id,
                    name=shown("/".join(found.parts)),
                    size=found.size,
                    status="processing",
                    claimed_at=now,
                )
            )
            await uow.commit()
        held = base / OWN / PROCESSING / str(claim)
        try:
            await asyncio.to_thread(os.rename, found.path, held)
        except OSError as exc:  # another worker took it first, or it was removed meanwhile
            async with self.store.uow() as uow:
                await consume.forget(uow.session, claim)
                await uow.commit()
            if not isinstance(exc, FileNotFoundError):  # another file system, permissions
                log.warning(
                    "consume_file_not_claimed",
                    organisation_id=str(caller.organisation_id),
                    error=str(exc)[:MAX_ERROR],
                )
            return 0

        async def recorded(uow: UnitOfWork, document_id: uuid.UUID) -> None:
            await consume.settle(uow.session, claim, "consumed", now, document_id=document_id)

        part = LocalFile(file_name=shown(found.parts[-1]), source=held)
        try:
            await self.uploads.create_from_part(caller, part, meta, recorded=recorded)
        except AppError as exc:
            await asyncio.to_thread(_move, held, base / OWN / FAILED / Path(*found.parts), claim)
            async with self.store.uow() as uow:
                await consume.settle(uow.session, claim, "failed", now, error=exc.detail[:500])
                await uow.commit()
            return 0
        await asyncio.to_thread(held.unlink, missing_ok=True)
        return 1

    async def _recover(self, base: Path, organisation_id: uuid.UUID) -> None:
        """Sort out what dead workers left in ``processing`` (see the module's notes)."""
        processing = base / OWN / PROCESSING
        held: dict[uuid.UUID, Path] = {}
        for path in await asyncio.to_thread(lambda: list(processing.iterdir())):
            try:
                held[uuid.UUID(path.name)] = path
            except ValueError:
                continue
        records = await consume.claims(self.store, organisation_id, list(held))
        stale = self.clock() - LEASE
        for claim, path in held.items():
            record = records.get(claim)
            try:
                if record is None:
                    await asyncio.to_thread(_move, path, base / f"recovered-{claim}", claim)
                elif record.status == "consumed":
                    await asyncio.to_thread(path.unlink, missing_ok=True)
                elif record.status == "failed":
                    failed = _below(base / OWN / FAILED, record.name)
                    await asyncio.to_thread(_move, path, failed, claim)
                elif record.claimed_at <= stale:
                    await asyncio.to_thread(_move, path, _below(base, record.name), claim)
                    async with self.store.uow() as uow:
                        await consume.forget(uow.session, claim)
                        await uow.commit()
            except FileNotFoundError:  # a scan running beside this one sorted it out first
                continue
        async with self.store.uow() as uow:  # claims whose rename never happened
            await consume.forget_stale(uow.session, organisation_id, stale, list(held))
            await uow.commit()
