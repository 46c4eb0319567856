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
from typing import Any, cast

from sqlalchemy import Row, Table, delete, func, select, update

from hub.content.domain.documents import TagRefs
from hub.content.domain.mail import (
    MAX_ACCOUNTS_PER_ORGANISATION,
    MAX_RULES_PER_ORGANISATION,
    PORTS,
    scrubbed,
)
from hub.content.models import MailAccount, MailProcessed, MailRule
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
from hub.kernel.pagination import Page, after_uuid, decode_cursor, page_of
from hub.kernel.problems import field_invalid, invalid_cursor, not_found
from hub.kernel.schema import new_id
from hub.kernel.sealing import Sealer
from hub.kernel.store import Store

SEAL_PURPOSE = "content.mail_accounts"
accounts_t = cast(Table, MailAccount.__table__)
rules_t = cast(Table, MailRule.__table__)
processed_t = cast(Table, MailProcessed.__table__)


@dataclass(frozen=True)
class AccountFields:
    name: str
    host: str
    port: int | None
    security: str
    username: str
    password: str
    enabled: bool


@dataclass(frozen=True)
class RuleFields:
    account_id: uuid.UUID
    name: str
    position: int
    enabled: bool
    folder: str
    filter_from: str | None
    filter_subject: str | None
    filter_attachment: str | None
    max_age_days: int
    action: str
    action_folder: str | None
    title_from: str
    tag_ids: list[uuid.UUID]
    document_type_id: uuid.UUID | None


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
        a = accounts_t
        query = (
            select(a)
            .where(a.c.organisation_id == member.organisation_id)
            .order_by(a.c.id)
            .limit(limit + 1)
        )
        if cursor:
            query = query.where(a.c.id > after_uuid(cursor))
        return page_of(await self.store.all(query), limit, lambda row: (str(row.id),))

    async def account(self, member: Membership, account_id: uuid.UUID) -> Row[Any]:
        a = accounts_t
        row = await self.store.first(
            select(a).where(a.c.id == account_id, a.c.organisation_id == member.organisation_id)
        )
        if row is None:
            raise not_found("mail account")
        return row

    async def create_account(self, member: Membership, fields: AccountFields) -> Row[Any]:
        host = self.check_host(fields.host, fields.port or PORTS[fields.security])
        now = self.clock()
        account_id = new_id()
        a = accounts_t
        async with self.store.uow() as uow:
            count = await uow.session.scalar(
                select(func.count())
                .select_from(a)
                .where(a.c.organisation_id == member.organisation_id)
            )
            if (count or 0) >= MAX_ACCOUNTS_PER_ORGANISATION:
                raise Conflict(
                    f"An organisation has at most {MAX_ACCOUNTS_PER_ORGANISATION} mail accounts.",
                    code="too_many_mail_accounts",
                )
            await uow.session.execute(
                a.insert().values(
                    id=account_id,
                    organisation_id=member.organisation_id,
                    name=fields.name,
                    host=host,
                    port=fields.port or PORTS[fields.security],
                    security=fields.security,
                    username=fields.username,
                    password_sealed=self.seal(account_id, fields.password),
                    enabled=fields.enabled,
                    owner_id=member.user_id,
                    created_at=now,
                    updated_at=now,
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
                update(accounts_t).where(accounts_t.c.id == row.id).values(**values)
            )
            await uow.commit()
        return await self.account(member, account_id)

    async def delete_account(self, member: Membership, account_id: uuid.UUID) -> None:
        row = await self.account(member, account_id)
        async with self.store.uow() as uow:
            await uow.session.execute(delete(accounts_t).where(accounts_t.c.id == row.id))
            await uow.commit()

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
        r = rules_t
        query = (
            select(r)
            .where(r.c.organisation_id == member.organisation_id)
            .order_by(r.c.id)
            .limit(limit + 1)
        )
        if cursor:
            query = query.where(r.c.id > after_uuid(cursor))
        return page_of(await self.store.all(query), limit, lambda row: (str(row.id),))

    async def rule(self, member: Membership, rule_id: uuid.UUID) -> Row[Any]:
        r = rules_t
        row = await self.store.first(
            select(r).where(r.c.id == rule_id, r.c.organisation_id == member.organisation_id)
        )
        if row is None:
            raise not_found("mail rule")
        return row

    async def create_rule(self, member: Membership, fields: RuleFields) -> Row[Any]:
        rule_id = new_id()
        now = self.clock()
        r = rules_t
        async with self.store.uow() as uow:
            await self._check_rule(uow.session, member, vars_of(fields))
            count = await uow.session.scalar(
                select(func.count())
                .select_from(r)
                .where(r.c.organisation_id == member.organisation_id)
            )
            if (count or 0) >= MAX_RULES_PER_ORGANISATION:
                raise Conflict(
                    f"An organisation has at most {MAX_RULES_PER_ORGANISATION} mail rules.",
                    code="too_many_mail_rules",
                )
            await uow.session.execute(
                r.insert().values(
                    id=rule_id,
                    organisation_id=member.organisation_id,
                    created_at=now,
                    updated_at=now,
                    **vars_of(fields),
                )
            )
            await uow.commit()
        return await self.rule(member, rule_id)

    async def update_rule(
        self, member: Membership, rule_id: uuid.UUID, changes: dict[str, Any]
    ) -> Row[Any]:
        row = await self.rule(member, rule_id)
        merged = {**{k: getattr(row, k) for k in RuleFields.__dataclass_fields__}, **changes}
        async with self.store.uow() as uow:
            await self._check_rule(uow.session, member, merged)
            await uow.session.execute(
                update(rules_t)
                .where(rules_t.c.id == row.id)
                .values(**changes, updated_at=self.clock())
            )
            await uow.commit()
        return await self.rule(member, rule_id)

    async def delete_rule(self, member: Membership, rule_id: uuid.UUID) -> None:
        row = await self.rule(member, rule_id)
        async with self.store.uow() as uow:
            await uow.session.execute(delete(rules_t).where(rules_t.c.id == row.id))
            await uow.commit()

    async def processed(
        self, member: Membership, rule_id: uuid.UUID, *, limit: int, cursor: str | None
    ) -> Page[Row[Any]]:
        """The mails a rule dealt with, the latest first."""
        row = await self.rule(member, rule_id)
        p = processed_t
        query = (
            select(p)
            .where(p.c.rule_id == row.id)
            .order_by(p.c.processed_at.desc(), p.c.uid.desc())
            .limit(limit + 1)
        )
        if cursor:
            at, uid = _processed_cursor(cursor)
            query = query.where(
                (p.c.processed_at < at) | ((p.c.processed_at == at) & (p.c.uid < uid))
            )
        return page_of(
            await self.store.all(query),
            limit,
            lambda item: (item.processed_at.isoformat(), item.uid),
        )

    async def _check_rule(self, session: Any, member: Membership, fields: dict[str, Any]) -> None:
        org = member.organisation_id
        a = accounts_t
        owned = await session.scalar(
            select(a.c.id).where(a.c.id == fields["account_id"], a.c.organisation_id == org)
        )
        if owned is None:
            raise field_invalid("accountId", "No such mail account in this organisation.")
        if fields["action"] == "move" and not fields.get("action_folder"):
            raise field_invalid("actionFolder", "the folder to move consumed mails to")
        await resolve_tags(session, org, TagRefs(tuple(fields["tag_ids"]), ()), field="tagIds")
        await self.metadata.document_type(session, org, fields["document_type_id"])


def vars_of(fields: RuleFields) -> dict[str, Any]:
    return {name: getattr(fields, name) for name in RuleFields.__dataclass_fields__}


def _processed_cursor(cursor: str) -> tuple[datetime, int]:
    at, uid = decode_cursor(cursor, 2)
    try:
        when, number = datetime.fromisoformat(str(at)), int(uid)
    except (ValueError, TypeError, OverflowError):
        raise invalid_cursor() from None
    if when.tzinfo is None or not 0 <= number < 2**63:
        raise invalid_cursor()
    return when, number
