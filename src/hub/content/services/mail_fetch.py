"""Turning mail into documents: each enabled account is read every
``HUB_CONTENT_MAIL_POLL_MINUTES`` by the ``content.fetch_mail`` job, one account at a
time (a lease on its row: a second worker, or a manual run, finds it taken and leaves).

For each enabled rule of the account, in order: open its folder, ask the server for the
mails of the rule's age window (``SEARCH SINCE``), leave out those the rule already dealt
with (``mail_processed``, by the folder's UIDVALIDITY and the UID), and read up to
``MAX_MAILS_PER_RUN`` of the newest. A mail whose sender, recipients, subject or body the
rule does not take is recorded ``skipped`` and left alone. Each attachment the rule takes
(and, as its ``consumption`` says, the mail itself as an ``.eml``) becomes a
document — stored and checked exactly as an upload is (media type allow-list, size
limit, quota), owned by the account's owner, with the rule's tags and document type,
titled by the mail's subject or the file name — in its own transaction; then the rule's
action is applied to the mail (marked read, flagged, moved, deleted) and it is recorded
``consumed`` with its documents. An attachment the upload rules refuse is left out (the
reason recorded); a mail none of whose attachments could be taken is ``skipped``. A
failure of the server stops the run and is shown on the account (``lastError``); what was
recorded stays recorded, so the next run picks up where this one stopped.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert

from hub.content.domain.documents import TagRefs
from hub.content.domain.mail import (
    MAX_MAILS_PER_RUN,
    Attachment,
    Filters,
    Mail,
    eml_name,
    matches,
    parse_mail,
    scrubbed,
    since,
    title_of,
    wanted,
)
from hub.content.repositories import mail as repo
from hub.content.repositories import taxonomy as taxonomy_repo
from hub.content.services.access import writing_owner
from hub.content.services.mail_accounts import MailAccounts
from hub.content.services.mail_imap import MailError, Session, session
from hub.content.services.storing import LocalFile
from hub.content.services.uploads import Metadata, UploadService
from hub.identity.api import IdentityApi
from hub.kernel.clock import Clock
from hub.kernel.egress import EgressRefused
from hub.kernel.errors import AppError
from hub.kernel.store import Store

log = structlog.get_logger("hub.content")
FETCH_MAIL = "content.fetch_mail"
#: How long a run may hold an account before another may take it over.
LEASE = timedelta(minutes=15)


def _unread(uid: int) -> Mail:
    """What is recorded of a mail that was not read: its number only."""
    return Mail(
        message_id=None,
        subject=f"(mail {uid}, not read)",
        sender="",
        recipients="",
        date=None,
        body="",
        attachments=(),
    )


class MailFetcher:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        accounts: MailAccounts,
        uploads: UploadService,
        identity: IdentityApi,
        queue_job: Callable[..., uuid.UUID],
        *,
        poll_minutes: int,
        max_mail_bytes: int,
    ) -> None:
        self.store, self.clock, self.accounts, self.uploads = store, clock, accounts, uploads
        self.identity, self.queue_job, self.poll = identity, queue_job, poll_minutes
        #: A larger mail is not read (its attachments could not be taken anyway): the
        #: upload limit, with room for the base64 of attachments and the mail around them.
        self.max_mail_bytes = max_mail_bytes

    async def due(self) -> int:
        """The periodic ``content.fetch_mail_due``: queue a fetch of each enabled account
        not checked for ``HUB_CONTENT_MAIL_POLL_MINUTES`` and not being read."""
        rows = await repo.due_accounts(self.store, self.clock(), self.poll)
        async with self.store.uow() as uow:
            for row in rows:
                self.queue_job(uow, FETCH_MAIL, str(row.id))
            await uow.commit()
        return len(rows)

    async def queue(self, account_id: uuid.UUID) -> None:
        """``POST …/mail-accounts/{id}/process``: read the account now."""
        async with self.store.uow() as uow:
            self.queue_job(uow, FETCH_MAIL, str(account_id))
            await uow.commit()

    async def fetch(self, account_id: uuid.UUID) -> int:
        """Read one account (the ``content.fetch_mail`` job); the documents made."""
        account = await self._lease(account_id)
        if account is None:
            return 0
        password = ""
        made, error = 0, None
        try:
            password = self.accounts.password(account)
            made = await self._read(account, password)
        except (MailError, EgressRefused) as exc:
            error = scrubbed(str(exc), password, account.username)
        except AppError as exc:
            error = scrubbed(exc.detail, password, account.username)
        finally:
            await self._release(account.id, error)
        if error is not None:
            log.warning("mail_fetch_failed", account_id=str(account.id), error=error)
        return made

    async def _lease(self, account_id: uuid.UUID) -> Any:
        now = self.clock()
        a = repo.accounts
        async with self.store.uow() as uow:
            row = (
                await uow.session.execute(
                    update(a)
                    .where(
                        a.c.id == account_id,
                        a.c.enabled.is_(True),
                        (a.c.lease_until.is_(None)) | (a.c.lease_until <= now),
                    )
                    .values(lease_until=now + LEASE)
                    .returning(a)
                )
            ).first()
            await uow.commit()
        return row

    async def _release(self, account_id: uuid.UUID, error: str | None) -> None:
        a = repo.accounts
        async with self.store.uow() as uow:
            await uow.session.execute(
                update(a)
                .where(a.c.id == account_id)
                .values(lease_until=None, last_checked_at=self.clock(), last_error=error)
            )
            await uow.commit()

    async def _read(self, account: Any, password: str) -> int:
        rules = await repo.enabled_rules(self.store, account.id)
        if not rules:
            return 0
        caller = await writing_owner(self.identity, account.organisation_id, account.owner_id)
        if caller is None:
            raise MailError(
                "the account's owner is no longer a member who may add documents: "
                "save the account again as one who may"
            )
        address = await self.accounts.address(account.host, account.port)
        opened = session(
            address,
            account.host,
            account.port,
            account.security,
            account.username,
            password,
            tls=self.accounts.tls,
        )
        mailbox = await asyncio.to_thread(opened.__enter__)
        try:
            made = 0
            for rule in rules:
                made += await self._rule(mailbox, rule, caller)
            return made
        finally:
            await asyncio.to_thread(opened.__exit__, None, None, None)

    async def _rule(self, mailbox: Session, rule: Any, caller: Any) -> int:
        now = self.clock()
        validity = await asyncio.to_thread(mailbox.select, rule.folder)
        uids = await asyncio.to_thread(mailbox.search, since(rule.max_age_days, now))
        todo = await self._unseen(rule.id, validity, uids)
        filters = Filters(
            sender=rule.filter_from,
            subject=rule.filter_subject,
            attachment=rule.filter_attachment,
            max_age_days=rule.max_age_days,
            recipient=rule.filter_to,
            body=rule.filter_body,
            attachment_exclude=rule.filter_attachment_exclude,
        )
        metadata = await self._metadata(rule)
        made = 0
        for uid in todo:
            size = await asyncio.to_thread(mailbox.size, uid)
            if size > self.max_mail_bytes:
                await self._record(
                    rule,
                    validity,
                    uid,
                    _unread(uid),
                    "failed",
                    [],
                    [f"the mail has {size} bytes, more than {self.max_mail_bytes} are read"],
                )
                continue
            raw = await asyncio.to_thread(mailbox.fetch, uid)
            mail = parse_mail(raw)
            documents: list[uuid.UUID] = []
            problems: list[str] = []
            refused = False
            if matches(filters, mail, now):
                for attachment in self._taken(rule, filters, mail, raw, uid):
                    meta = Metadata(
                        title=title_of(rule.title_from, mail, attachment),
                        tags=metadata[0],
                        document_type_id=metadata[1],
                        custom_fields={},
                        origin="mail",
                        origin_ref=str(rule.id),
                    )
                    try:
                        documents.append(await self._document(caller, attachment, meta))
                    except AppError as exc:
                        refused = True
                        problems.append(f"{attachment.file_name}: {exc.detail}")
            else:
                problems.append("not taken by the rule's filters")
            if not documents and not problems:
                problems.append("no attachment the rule takes")
            status = "consumed" if documents else "failed" if refused else "skipped"
            await self._record(rule, validity, uid, mail, status, documents, problems)
            if documents:
                # After the record: an action the server refuses stops the run, but the
                # mail is never made into documents twice.
                await asyncio.to_thread(self._act, mailbox, rule, uid)
            made += len(documents)
        return made

    @staticmethod
    def _taken(rule: Any, filters: Filters, mail: Mail, raw: bytes, uid: int) -> list[Attachment]:
        """What the rule makes documents of: the mail whole (``.eml``), first, and the
        attachments its patterns take, as its ``consumption`` says."""
        whole = [Attachment(file_name=eml_name(mail, uid), data=raw)]
        if rule.consumption == "mail":
            return whole
        taken = wanted(filters, mail)
        return [*whole, *taken] if rule.consumption == "everything" else taken

    async def _unseen(self, rule_id: uuid.UUID, validity: int, uids: list[int]) -> list[int]:
        """The newest ``MAX_MAILS_PER_RUN`` of ``uids`` the rule has not dealt with, oldest
        first (looked up a thousand at a time: a big folder's UIDs are many)."""
        newest = sorted(uids, reverse=True)
        todo: list[int] = []
        for start in range(0, len(newest), 1000):
            chunk = newest[start : start + 1000]
            seen = await repo.seen_uids(self.store, rule_id, validity, chunk)
            todo.extend(uid for uid in chunk if uid not in seen)
            if len(todo) >= MAX_MAILS_PER_RUN:
                break
        return sorted(todo[:MAX_MAILS_PER_RUN])

    async def _metadata(self, rule: Any) -> tuple[TagRefs, uuid.UUID | None]:
        """The rule's tags and type that still exist (one deleted since is left out)."""
        org = rule.organisation_id
        tags = await taxonomy_repo.live_tags(self.store, org, list(rule.tag_ids))
        return TagRefs(tuple(tags), ()), await taxonomy_repo.live_type(
            self.store, org, rule.document_type_id
        )

    async def _document(self, caller: Any, attachment: Any, meta: Metadata) -> uuid.UUID:
        part = LocalFile(file_name=attachment.file_name, source=attachment.data)
        view = await self.uploads.create_from_part(caller, part, meta)
        return uuid.UUID(str(view["id"]))

    @staticmethod
    def _act(mailbox: Session, rule: Any, uid: int) -> None:
        if rule.action == "mark_read":
            mailbox.flag(uid, "\\Seen")
        elif rule.action == "flag":
            mailbox.flag(uid, "\\Flagged")
        elif rule.action == "move":
            mailbox.move(uid, rule.action_folder)
        elif rule.action == "delete":
            mailbox.delete(uid)

    async def _record(
        self,
        rule: Any,
        validity: int,
        uid: int,
        mail: Any,
        status: str,
        documents: list[uuid.UUID],
        problems: list[str],
    ) -> None:
        async with self.store.uow() as uow:
            await uow.session.execute(
                insert(repo.processed)
                .values(
                    rule_id=rule.id,
                    uid_validity=validity,
                    uid=uid,
                    organisation_id=rule.organisation_id,
                    message_id=mail.message_id,
                    subject=mail.subject,
                    sender=mail.sender,
                    status=status,
                    error="; ".join(problems)[:500] or None,
                    document_ids=documents,
                    processed_at=self.clock(),
                )
                .on_conflict_do_nothing()
            )
            await uow.commit()
