"""A mail larger than anything the upload rules could take is never read: the hub asks the
server for its size first, records it as failed with that size, and leaves it as it was."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.integration.content.support import DOCS, pdf
from tests.integration.content.support_mail import (
    ImapServer,
    accounts_url,
    add_account,
    mail,
    rules_url,
    running_imap,
)
from tests.integration.identity.support_orgs import create_org, person


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Uploads of 2 KiB at most: a mail over 2 KiB times 4/3, plus 1 MiB, is not read."""
    return settings.replace(content_mail_allowed_networks=("127.0.0.1/32",), max_upload_bytes=2048)


@pytest.fixture(scope="module")
def imap() -> Iterator[ImapServer]:
    yield from running_imap()


async def test_a_mail_too_large_to_take_is_not_read(
    client: Any, database_url: str, events: InProcessWorker, imap: ImapServer
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    imap.deliver(mail("Huge scan", attachments=(("scan.pdf", pdf(os.urandom(1_200_000))),)))
    imap.deliver(mail("Small invoice", attachments=(("invoice.pdf", pdf(b"small")),)))
    account = (await add_account(client, owner, org, imap)).json()
    rule = (
        await client.post(
            rules_url(org), json={"accountId": account["id"], "name": "All"}, headers=owner.auth
        )
    ).json()
    await client.post(f"{accounts_url(org)}/{account['id']}/process", headers=owner.auth)
    await events.drain(within=30)
    r = await client.get(DOCS, params={"organisationId": org}, headers=owner.auth)
    assert [d["title"] for d in r.json()["items"]] == ["Small invoice"]
    r = await client.get(f"{rules_url(org)}/{rule['id']}/processed", headers=owner.auth)
    by_status = {p["status"]: p for p in r.json()["items"]}
    assert set(by_status) == {"consumed", "failed"}
    assert "more than" in by_status["failed"]["error"]
    assert by_status["failed"]["documentIds"] == []
    # Left as it was: still unread in the inbox; the small one was marked read.
    assert imap.subjects("INBOX", "UNSEEN") == ["Huge scan"]
