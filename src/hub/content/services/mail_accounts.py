"""Mail accounts and mail rules of an organisation (``content.mail.manage``): what the
mail fetcher (``services.mail_fetch``) reads, and with which rules.

Everything is checked when saved: the host against the operator's address policy (a
literal loopback, private or metadata address, or a ``localhost`` name, is refused; a
name is resolved and checked again at each connection), the folder names, the rule's
tags and document type against the organisation's. The password is sealed under
``HUB_SECRET_KEY`` (bound to the row's id) and never returned.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, delete, select, update

from hub.content.domain.documents import TagRefs
from hub.content.domain.mail import (
    MAX_ACCOUNTS_PER_ORGANISATION,
    MAX_RULES_PER_ORGANISATION,
    PORTS,
    reconsiders,
    scrubbed,
)
from hub.content.repositories import mail
from hub.content.services.mail_imap import MailError, session
from hub.content.services.tagging import resolve_tags
from hub.content.services.taxonomy import MetadataRules
from hub.identity.api import Membership
from hub.kernel.clock import Clock
from hub.kernel.egress import (
    AddressPolicy,
    EgressRefused,
    Resolver,
    Target,
    checked_host,
    resolve,
    system_resolver,
)
from hub.kernel.errors import Conflict
from hub.kernel.pagination import Page, decode_cursor, page_of
from hub.kernel.problems import field_invalid, invalid_cursor, not_found
from hub.kernel.schema import new_id
from hub.kernel.sealing import Sealer
from hub.kernel.store import Store

SEAL_PURPOSE = "content.mail_accounts"


@dataclass(frozen=True)
class TestResult:
    ok: bool
    folders: list[str]
    error: str | None


class MailAccounts:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        sealer: Sealer,
        policy: AddressPolicy,
        metadata: MetadataRules,
    ) -> None:
        self.store, self.clock, self.sealer, self.policy = store, clock, sealer, policy
        self.metadata = metadata
        #: The verifying TLS context (None: the system's CA bundle) and the resolver of
        #: host names: a test's own CA and names.
        self.tls: Any = None
        self.resolver: Resolver = system_resolver

    # ------------------------------------------------------------------ accounts

    async def accounts(
        self, member: Membership, *, limit: int, cursor: str | None
    ) -> Page[Row[Any]]:
        return await self._page(mail.accounts, member, limit, cursor)

    async def account(self, member: Membership, account_id: uuid.UUID) -> Row[Any]:
        return await self._owned(mail.accounts, member, account_id, "mail account")

    async def create_account(self, member: Membership, fields: dict[str, Any]) -> Row[Any]:
        """``fields``: the columns a request gives (``password`` in clear, sealed here)."""
        values = dict(fields)
        values["port"] = values.get("port") or PORTS[values["security"]]
        values["host"] = self.check_host(values["host"], values["port"])
        now = self.clock()
        account_id = new_id()
        values["password_sealed"] = self.seal(account_id, values.pop("password"))
        async with self.store.uow() as uow:
            await self._room(uow.session, mail.accounts, member, MAX_ACCOUNTS_PER_ORGANISATION)
            await uow.session.execute(
                mail.accounts.insert().values(
                    id=account_id,
                    organisation_id=member.organisation_id,
                    owner_id=member.user_id,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
            )
            await uow.commit()
        return await self.account(member, account_id)

    async def update_account(
        self, member: Membership, account_id: uuid.UUID, changes: dict[str, Any]
    ) -> Row[Any]:
        """``changes``: the fields the request named (``password`` re-sealed)."""
        row = await self.account(member, account_id)
        values = dict(changes)
        if "security" in values and "port" not in values:
            values["port"] = PORTS[values["security"]]
        if "host" in values or "port" in values:
            values["host"] = self.check_host(
                values.get("host", row.host), values.get("port") or row.port
            )
        if "password" in values:
            values["password_sealed"] = self.seal(row.id, values.pop("password"))
        values.update(updated_at=self.clock(), owner_id=member.user_id, last_error=None)
        async with self.store.uow() as uow:
            await uow.session.execute(
                update(mail.accounts).where(mail.accounts.c.id == row.id).values(**values)
            )
            await uow.commit()
        return await self.account(member, account_id)

    async def delete_account(self, member: Membership, account_id: uuid.UUID) -> None:
        await self._delete(mail.accounts, await self.account(member, account_id))

    async def test(self, member: Membership, account_id: uuid.UUID) -> TestResult:
        """Connect, sign in and list the folders, as the fetcher would."""
        row = await self.account(member, account_id)
        password = self.password(row)
        try:
            address = await self.address(row.host, row.port)
            folders = await asyncio.to_thread(self._folders, row, address, password)
        except (MailError, EgressRefused) as exc:
            return TestResult(False, [], scrubbed(str(exc), password, row.username))
        return TestResult(True, folders, None)

    def _folders(self, row: Any, address: str, password: str) -> list[str]:
        with session(
            address, row.host, row.port, row.security, row.username, password, tls=self.tls
        ) as mailbox:
            return mailbox.folders()

    def check_host(self, host: str, port: int) -> str:
        try:
            return checked_host("imap", host, port, self.policy).host
        except EgressRefused as exc:
            raise field_invalid("host", exc.reason, code="address_not_allowed") from None

    async def address(self, host: str, port: int) -> str:
        """The address to connect to: the host resolved, every address checked."""
        target: Target = checked_host("imap", host, port, self.policy)
        return str((await resolve(target, self.policy, self.resolver))[0])

    def seal(self, account_id: uuid.UUID, password: str) -> bytes:
        return self.sealer.seal(password.encode(), context=account_id.bytes)

    def password(self, row: Any) -> str:
        return self.sealer.open(row.password_sealed, context=row.id.bytes).decode()

    # ------------------------------------------------------------------ rules

    async def rules(self, member: Membership, *, limit: int, cursor: str | None) -> Page[Row[Any]]:
        return await self._page(mail.rules, member, limit, cursor)

    async def rule(self, member: Membership, rule_id: uuid.UUID) -> Row[Any]:
        return await self._owned(mail.rules, member, rule_id, "mail rule")

    async def create_rule(self, member: Membership, fields: dict[str, Any]) -> Row[Any]:
        """``fields``: the rule's columns as a request gives them."""
        rule_id = new_id()
        now = self.clock()
        async with self.store.uow() as uow:
            await self._check_rule(uow.session, member, fields)
            await self._room(uow.session, mail.rules, member, MAX_RULES_PER_ORGANISATION)
            await uow.session.execute(
                mail.rules.insert().values(
                    id=rule_id,
                    organisation_id=member.organisation_id,
                    created_at=now,
                    updated_at=now,
                    **fields,
                )
            )
            await uow.commit()
        return await self.rule(member, rule_id)

    async def update_rule(
        self, member: Membership, rule_id: uuid.UUID, changes: dict[str, Any]
    ) -> Row[Any]:
        row = await self.rule(member, rule_id)
        async with self.store.uow() as uow:
            await self._check_rule(uow.session, member, {**row._mapping, **changes})
            await uow.session.execute(
                update(mail.rules)
                .where(mail.rules.c.id == row.id)
                .values(**changes, updated_at=self.clock())
            )
            if reconsiders(dict(row._mapping), changes):
                await mail.forget_skipped(uow.session, row.id)
            await uow.commit()
        return await self.rule(member, rule_id)

    async def delete_rule(self, member: Membership, rule_id: uuid.UUID) -> None:
        await self._delete(mail.rules, await self.rule(member, rule_id))

    async def processed(
        self, member: Membership, rule_id: uuid.UUID, *, limit: int, cursor: str | None
    ) -> Page[Row[Any]]:
        """The mails a rule dealt with, the latest first."""
        row = await self.rule(member, rule_id)
        rows = await mail.processed_page(
            self.store, row.id, limit=limit, after=_processed_cursor(cursor) if cursor else None
        )
        return page_of(rows, limit, lambda item: (item.processed_at.isoformat(), item.uid))

    async def _page(
        self, table: Table, member: Membership, limit: int, cursor: str | None
    ) -> Page[Row[Any]]:
        rows = await mail.page(
            self.store, table, member.organisation_id, limit=limit, cursor=cursor
        )
        return page_of(rows, limit, lambda row: (str(row.id),))

    async def _owned(
        self, table: Table, member: Membership, row_id: uuid.UUID, what: str
    ) -> Row[Any]:
        row = await mail.one(self.store, table, member.organisation_id, row_id)
        if row is None:
            raise not_found(what)
        return row

    @staticmethod
    async def _room(session: Any, table: Table, member: Membership, most: int) -> None:
        """409 when the organisation already has ``most`` accounts or rules."""
        if await mail.count(session, table, member.organisation_id) >= most:
            kind = "mail_accounts" if table is mail.accounts else "mail_rules"
            raise Conflict(
                f"An organisation has at most {most} {kind.replace('_', ' ')}.",
                code=f"too_many_{kind}",
            )

    async def _delete(self, table: Table, row: Any) -> None:
        async with self.store.uow() as uow:
            await uow.session.execute(delete(table).where(table.c.id == row.id))
            await uow.commit()

    async def _check_rule(self, session: Any, member: Membership, fields: dict[str, Any]) -> None:
        org = member.organisation_id
        a = mail.accounts
        owned = await session.scalar(
            select(a.c.id).where(a.c.id == fields["account_id"], a.c.organisation_id == org)
        )
        if owned is None:
            raise field_invalid("accountId", "No such mail account in this organisation.")
        if fields["action"] == "move" and not fields.get("action_folder"):
            raise field_invalid("actionFolder", "the folder to move consumed mails to")
        await resolve_tags(session, org, TagRefs(tuple(fields["tag_ids"]), ()), field="tagIds")
        await self.metadata.document_type(session, org, fields["document_type_id"])


def _processed_cursor(cursor: str) -> tuple[datetime, int]:
    at, uid = decode_cursor(cursor, 2)
    try:
        when, number = datetime.fromisoformat(str(at)), int(uid)
    except (ValueError, TypeError, OverflowError):
        raise invalid_cursor() from None
    if when.tzinfo is None or not 0 <= number < 2**63:
        raise invalid_cursor()
    return when, number
