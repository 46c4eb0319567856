"""/orgs/{orgId}/mail-accounts and /orgs/{orgId}/mail-rules: e-mail attachments turned
into documents (Paperless-ngx's mail), configured by those holding content.mail.manage."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hub.content.domain.access import MAIL_MANAGE
from hub.content.schemas import (
    MailAccountIn,
    MailAccountOut,
    MailAccountPatch,
    MailProcessedOut,
    MailRuleIn,
    MailRuleOut,
    MailRulePatch,
    MailTestOut,
)
from hub.content.services.mail_accounts import MailAccounts
from hub.content.services.mail_fetch import MailFetcher
from hub.identity.api import Membership
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.ratelimit import rate_limit
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, Cursor, Limit, page_as, to_schema

_HOST = (
    "`host` must not be a loopback, private or metadata address, nor a `localhost` name "
    "(422 `address_not_allowed`; HUB_CONTENT_MAIL_ALLOWED_NETWORKS opens networks); a "
    "name is resolved and checked again at each connection."
)


class MailAccountController(Controller):
    path = "/orgs/{org_id:uuid}/mail-accounts"
    tags = ["Content: mail"]
    security = BEARER_OR_KEY
    guards = [permission(MAIL_MANAGE)]

    @get(operation_id="listMailAccounts", summary="The organisation's mail accounts")
    async def list_accounts(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        mail_accounts: NamedDependency[MailAccounts],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[MailAccountOut]:
        page = await mail_accounts.accounts(membership, limit=limit, cursor=cursor)
        return page_as(page, MailAccountOut)

    @post(
        operation_id="createMailAccount",
        summary="Add an IMAP account that mail rules read",
        description=_HOST + " The password is write-only (sealed at rest). At most 20 per "
        "organisation (409 `too_many_mail_accounts`). The caller becomes its owner: the "
        "documents its mail becomes are theirs.",
        opt=problems(409, 422),
    )
    async def create_account(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        data: JSONBody[MailAccountIn],
        mail_accounts: NamedDependency[MailAccounts],
    ) -> MailAccountOut:
        row = await mail_accounts.create_account(membership, msgspec.structs.asdict(data))
        return to_schema(row, MailAccountOut)

    @get("/{account_id:uuid}", operation_id="getMailAccount", summary="A mail account")
    async def get_account(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        account_id: FromPath[uuid.UUID],
        mail_accounts: NamedDependency[MailAccounts],
    ) -> MailAccountOut:
        return to_schema(await mail_accounts.account(membership, account_id), MailAccountOut)

    @patch(
        "/{account_id:uuid}",
        operation_id="updateMailAccount",
        summary="Change a mail account (the caller becomes its owner)",
        description=_HOST,
        opt=problems(422),
    )
    async def update_account(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        account_id: FromPath[uuid.UUID],
        data: JSONBody[MailAccountPatch],
        mail_accounts: NamedDependency[MailAccounts],
    ) -> MailAccountOut:
        row = await mail_accounts.update_account(membership, account_id, data.sent())
        return to_schema(row, MailAccountOut)

    @delete(
        "/{account_id:uuid}",
        status_code=204,
        operation_id="deleteMailAccount",
        summary="Remove a mail account and its rules (documents made stay)",
    )
    async def delete_account(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        account_id: FromPath[uuid.UUID],
        mail_accounts: NamedDependency[MailAccounts],
    ) -> None:
        await mail_accounts.delete_account(membership, account_id)

    @post(
        "/{account_id:uuid}/test",
        status_code=200,
        operation_id="testMailAccount",
        summary="Connect, sign in and list the folders: what the server said",
        opt=rate_limit("sends"),
    )
    async def test_account(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        account_id: FromPath[uuid.UUID],
        mail_accounts: NamedDependency[MailAccounts],
    ) -> MailTestOut:
        result = await mail_accounts.test(membership, account_id)
        return MailTestOut(ok=result.ok, folders=result.folders, error=result.error)

    @post(
        "/{account_id:uuid}/process",
        status_code=202,
        operation_id="processMailAccount",
        summary="Read the account now instead of at its next poll",
        opt=rate_limit("sends"),
    )
    async def process_account(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        account_id: FromPath[uuid.UUID],
        mail_accounts: NamedDependency[MailAccounts],
        mail_fetcher: NamedDependency[MailFetcher],
    ) -> None:
        row = await mail_accounts.account(membership, account_id)
        await mail_fetcher.queue(row.id)


class MailRuleController(Controller):
    path = "/orgs/{org_id:uuid}/mail-rules"
    tags = ["Content: mail"]
    security = BEARER_OR_KEY
    guards = [permission(MAIL_MANAGE)]

    @get(operation_id="listMailRules", summary="The organisation's mail rules")
    async def list_rules(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        mail_accounts: NamedDependency[MailAccounts],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[MailRuleOut]:
        return page_as(
            await mail_accounts.rules(membership, limit=limit, cursor=cursor), MailRuleOut
        )

    @post(
        operation_id="createMailRule",
        summary="Which mails of an account's folder become documents, and how",
        description="`accountId`, `tagIds` and `documentTypeId` must be the organisation's "
        "(422 naming them); `move` needs `actionFolder`. At most 100 per organisation "
        "(409 `too_many_mail_rules`).",
        opt=problems(409, 422),
    )
    async def create_rule(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        data: JSONBody[MailRuleIn],
        mail_accounts: NamedDependency[MailAccounts],
    ) -> MailRuleOut:
        fields = msgspec.structs.asdict(data)
        fields["tag_ids"] = list(data.tag_ids)
        row = await mail_accounts.create_rule(membership, fields)
        return to_schema(row, MailRuleOut)

    @get("/{rule_id:uuid}", operation_id="getMailRule", summary="A mail rule")
    async def get_rule(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        rule_id: FromPath[uuid.UUID],
        mail_accounts: NamedDependency[MailAccounts],
    ) -> MailRuleOut:
        return to_schema(await mail_accounts.rule(membership, rule_id), MailRuleOut)

    @patch(
        "/{rule_id:uuid}",
        operation_id="updateMailRule",
        summary="Change a mail rule",
        opt=problems(422),
    )
    async def update_rule(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        rule_id: FromPath[uuid.UUID],
        data: JSONBody[MailRulePatch],
        mail_accounts: NamedDependency[MailAccounts],
    ) -> MailRuleOut:
        changes = data.sent()
        if "tag_ids" in changes:
            changes["tag_ids"] = list(changes["tag_ids"])
        return to_schema(await mail_accounts.update_rule(membership, rule_id, changes), MailRuleOut)

    @delete(
        "/{rule_id:uuid}",
        status_code=204,
        operation_id="deleteMailRule",
        summary="Remove a mail rule (documents made stay)",
    )
    async def delete_rule(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        rule_id: FromPath[uuid.UUID],
        mail_accounts: NamedDependency[MailAccounts],
    ) -> None:
        await mail_accounts.delete_rule(membership, rule_id)

    @get(
        "/{rule_id:uuid}/processed",
        operation_id="listProcessedMails",
        summary="The mails a rule dealt with, the latest first",
    )
    async def processed(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        rule_id: FromPath[uuid.UUID],
        mail_accounts: NamedDependency[MailAccounts],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[MailProcessedOut]:
        page = await mail_accounts.processed(membership, rule_id, limit=limit, cursor=cursor)
        return page_as(page, MailProcessedOut)
