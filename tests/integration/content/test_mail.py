"""Mail rules (Paperless-ngx's mail consumption) against a real IMAP server: attachments
of the mails a rule takes become documents with the rule's metadata, the mail is then
filed as the rule says, nothing is consumed twice, other mails are left alone and
recorded, and the account's password appears in no answer, log or column in clear."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from structlog.testing import capture_logs

from hub.content.services.mail_accounts import SEAL_PURPOSE as MAIL_SEAL
from hub.kernel.sealing import Sealer, UnsealableError
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.integration.communication.support_webhooks import certificates
from tests.integration.content.support import DOCS, document_type, pdf
from tests.integration.content.support_mail import (
    PASSWORD,
    ImapServer,
    accounts_url,
    add_account,
    mail,
    rules_url,
    running_imap,
)
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, create_org, join, person
from tests.integration.identity.test_secret_rotation import A, B, _row, hub_secrets, running
from tests.support import problem

Client = Any


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The IMAP server listens on 127.0.0.1, which only the allow-list lets accounts reach."""
    return settings.replace(content_mail_allowed_networks=("127.0.0.1/32",))


@pytest.fixture(scope="module")
def imap() -> Iterator[ImapServer]:
    yield from running_imap()


async def tag(client: Client, who: Person, org: str, name: str) -> str:
    r = await client.post(f"{API}/orgs/{org}/tags", json={"name": name}, headers=who.auth)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_a_rule_turns_attachments_into_documents_and_files_the_mail(
    client: Client, database_url: str, events: InProcessWorker, imap: ImapServer
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    invoices = await tag(client, owner, org, "Invoices")
    invoice_type = await document_type(client, owner, org)
    invoice = pdf(b"invoice 42")
    imap.create("Processed")
    imap.deliver(
        mail("Invoice 42", attachments=(("invoice-42.pdf", invoice), ("logo.png", b"\x89PNG\r\n")))
    )
    imap.deliver(
        mail(
            "Lunch on Friday",
            sender="Ann <ann@friends.example>",
            attachments=(("menu.pdf", pdf(b"menu")),),
        )
    )
    imap.deliver(mail("Invoice 43 follows", attachments=()))

    r = await add_account(client, owner, org, imap)
    assert r.status_code == 201, r.text
    account = r.json()
    assert (account["ownerId"], account["security"], account["lastCheckedAt"]) == (
        owner.user_id,
        "none",
        None,
    )
    assert PASSWORD not in r.text
    assert "password" not in account
    (row,) = await fetch(database_url, "SELECT password_sealed FROM content.mail_accounts")
    assert PASSWORD.encode() not in bytes(row["password_sealed"])
    r = await client.post(f"{accounts_url(org)}/{account['id']}/test", headers=owner.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["ok"], r.json()["error"]) == (True, None)
    assert {"INBOX", "Processed"} <= set(r.json()["folders"])

    r = await client.post(
        rules_url(org),
        json={
            "accountId": account["id"],
            "name": "Supplier invoices",
            "filterFrom": "SUPPLIER.example",
            "filterAttachment": "*.PDF",
            "action": "move",
            "actionFolder": "Processed",
            "tagIds": [invoices],
            "documentTypeId": invoice_type,
        },
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    rule = r.json()
    assert (rule["folder"], rule["maxAgeDays"], rule["titleFrom"]) == ("INBOX", 30, "subject")

    with capture_logs() as logs:
        r = await client.post(f"{accounts_url(org)}/{account['id']}/process", headers=owner.auth)
        assert r.status_code == 202
        await events.drain(within=30)
    assert PASSWORD not in repr(logs)
    r = await client.get(DOCS, params={"organisationId": org}, headers=owner.auth)
    (document,) = r.json()["items"]
    assert (document["title"], document["ownerId"], document["documentTypeId"]) == (
        "Invoice 42",
        owner.user_id,
        invoice_type,
    )
    assert [t["id"] for t in document["tags"]] == [invoices]
    content = await client.get(f"{DOCS}/{document['id']}/content", headers=owner.auth)
    assert content.content == invoice
    # The consumed mail went to Processed; the others stay in the inbox, unread.
    assert imap.subjects("Processed") == ["Invoice 42"]
    assert imap.subjects("INBOX", "UNSEEN") == ["Invoice 43 follows", "Lunch on Friday"]
    r = await client.get(f"{rules_url(org)}/{rule['id']}/processed", headers=owner.auth)
    processed = {p["subject"]: p for p in r.json()["items"]}
    assert processed["Invoice 42"]["status"] == "consumed"
    assert processed["Invoice 42"]["documentIds"] == [document["id"]]
    assert (processed["Lunch on Friday"]["status"], processed["Lunch on Friday"]["error"]) == (
        "skipped",
        "not taken by the rule's filters",
    )
    assert (
        processed["Invoice 43 follows"]["status"],
        processed["Invoice 43 follows"]["error"],
    ) == (
        "skipped",
        "no attachment the rule takes",
    )
    url = f"{rules_url(org)}/{rule['id']}/processed"
    page = (await client.get(url, params={"limit": 2}, headers=owner.auth)).json()
    rest = (await client.get(url, params={"cursor": page["nextCursor"]}, headers=owner.auth)).json()
    assert sorted(p["subject"] for p in page["items"] + rest["items"]) == sorted(processed)
    assert rest["nextCursor"] is None
    r = await client.get(f"{accounts_url(org)}/{account['id']}", headers=owner.auth)
    assert r.json()["lastCheckedAt"] is not None
    assert r.json()["lastError"] is None

    # Read again: nothing is consumed twice; a new mail is.
    imap.deliver(mail("Invoice 44", attachments=(("invoice-44.pdf", pdf(b"44")),)))
    await client.post(f"{accounts_url(org)}/{account['id']}/process", headers=owner.auth)
    await events.drain(within=30)
    r = await client.get(DOCS, params={"organisationId": org}, headers=owner.auth)
    assert sorted(d["title"] for d in r.json()["items"]) == ["Invoice 42", "Invoice 44"]
    assert imap.subjects("Processed") == ["Invoice 42", "Invoice 44"]


async def test_a_wrong_password_is_reported_without_it(
    client: Client, database_url: str, events: InProcessWorker, imap: ImapServer
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    wrong = "not-the-Pw-7781"
    account = (await add_account(client, owner, org, imap, password=wrong)).json()
    r = await client.post(f"{accounts_url(org)}/{account['id']}/test", headers=owner.auth)
    assert (r.json()["ok"], r.json()["folders"]) == (False, [])
    assert r.json()["error"]
    assert wrong not in r.json()["error"]
    await client.post(
        rules_url(org), json={"accountId": account["id"], "name": "All"}, headers=owner.auth
    )
    await client.post(f"{accounts_url(org)}/{account['id']}/process", headers=owner.auth)
    await events.drain(within=30)
    r = await client.get(f"{accounts_url(org)}/{account['id']}", headers=owner.auth)
    assert r.json()["lastError"]
    assert wrong not in r.json()["lastError"]
    # A new password clears it and reads the mailbox.
    r = await client.patch(
        f"{accounts_url(org)}/{account['id']}", json={"password": PASSWORD}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    assert r.json()["lastError"] is None
    r = await client.post(f"{accounts_url(org)}/{account['id']}/test", headers=owner.auth)
    assert r.json()["ok"] is True


async def test_bad_accounts_and_rules_are_refused_naming_the_field(
    client: Client, database_url: str, imap: ImapServer
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    member = await join(client, database_url, org, owner, "ann@example.com", None)
    for host in ("10.0.0.7", "localhost", "169.254.169.254", "[::1]"):
        r = await add_account(client, owner, org, imap, host=host)
        assert (r.status_code, problem(r)["code"]) == (422, "address_not_allowed"), (host, r.text)
        assert r.json()["errors"][0]["field"] == "host"
    for change in ({"password": None}, {"security": "tls"}, {"port": 70000}, {"name": ""}):
        r = await add_account(client, owner, org, imap, **change)
        assert r.status_code == 400, (change, r.text)
    r = await add_account(client, member, org, imap)
    assert (r.status_code, problem(r)["code"]) == (403, "permission_denied")
    account = (await add_account(client, owner, org, imap)).json()
    bad_rules: list[tuple[dict[str, Any], int, str]] = [
        ({"accountId": "00000000-0000-7000-8000-000000000000"}, 422, "accountId"),
        ({"action": "move"}, 422, "actionFolder"),
        ({"tagIds": ["00000000-0000-7000-8000-000000000000"]}, 422, "tagIds"),
        ({"documentTypeId": "00000000-0000-7000-8000-000000000000"}, 422, "documentTypeId"),
        ({"folder": 'In"box'}, 400, ""),
        ({"action": "archive"}, 400, ""),
    ]
    for change, status, field in bad_rules:
        body = {"accountId": account["id"], "name": "Rule", **change}
        r = await client.post(rules_url(org), json=body, headers=owner.auth)
        assert r.status_code == status, (change, r.text)
        if field:
            assert r.json()["errors"][0]["field"] == field, r.text
    assert (await client.get(rules_url(org), headers=owner.auth)).json()["items"] == []
    # Another organisation's account and rules are 404 from here.
    other = await person(client, database_url, "other@example.com")
    elsewhere = (await create_org(client, other))["id"]
    r = await client.get(f"{accounts_url(elsewhere)}/{account['id']}", headers=other.auth)
    assert r.status_code == 404
    r = await client.post(
        rules_url(elsewhere), json={"accountId": account["id"], "name": "x"}, headers=other.auth
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "accountId")
    # Removing the account removes its rules.
    rule = (
        await client.post(
            rules_url(org), json={"accountId": account["id"], "name": "All"}, headers=owner.auth
        )
    ).json()
    assert (
        await client.delete(f"{accounts_url(org)}/{account['id']}", headers=owner.auth)
    ).status_code == 204
    assert (
        await client.get(f"{rules_url(org)}/{rule['id']}", headers=owner.auth)
    ).status_code == 404


@pytest.fixture(scope="module")
def imap_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    folder = tmp_path_factory.mktemp("imap-tls")
    certificates(folder, "imap.clinic.test")
    yield from running_imap((folder / "leaf.pem", folder / "leaf.key", folder / "ca.pem"))


async def test_starttls_verifies_the_name_and_connects_to_the_address_checked(
    client: Client,
    app: Litestar,
    database_url: str,
    events: InProcessWorker,
    imap_tls: ImapServer,
) -> None:
    """The account names a host; the hub resolves it once, checks the address, connects
    to that address and verifies the certificate against the name (no second lookup)."""
    looked_up: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"] if host == "imap.clinic.test" else []

    for kernel in (app.state["kernel"], events.background.worker_kernel()):
        kernel.services["mail_accounts"].resolver = resolver
        kernel.services["mail_accounts"].tls = imap_tls.hub_tls
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    imap_tls.deliver(mail("Lab results", attachments=(("results.pdf", pdf(b"lab")),)))
    account = (
        await add_account(
            client, owner, org, imap_tls, host="imap.clinic.test", security="starttls"
        )
    ).json()
    r = await client.post(f"{accounts_url(org)}/{account['id']}/test", headers=owner.auth)
    assert (r.json()["ok"], r.json()["error"]) == (True, None)
    assert looked_up == ["imap.clinic.test"]
    await client.post(
        rules_url(org),
        json={"accountId": account["id"], "name": "All", "titleFrom": "filename"},
        headers=owner.auth,
    )
    await client.post(f"{accounts_url(org)}/{account['id']}/process", headers=owner.auth)
    await events.drain(within=30)
    r = await client.get(DOCS, params={"organisationId": org}, headers=owner.auth)
    assert [d["title"] for d in r.json()["items"]] == ["results.pdf"]  # titled by the file
    assert imap_tls.subjects("INBOX", "SEEN") == ["Lab results"]  # marked read
    # A certificate for another name is refused: the same server under another name.
    for kernel in (app.state["kernel"], events.background.worker_kernel()):
        kernel.services["mail_accounts"].resolver = lambda host, port: _loopback()
    other = (
        await add_account(client, owner, org, imap_tls, host="mail.other.test", security="starttls")
    ).json()
    r = await client.post(f"{accounts_url(org)}/{other['id']}/test", headers=owner.auth)
    assert r.json()["ok"] is False
    assert "certificate" in r.json()["error"].lower()


async def _loopback() -> list[str]:
    return ["127.0.0.1"]


async def test_rotation_reseals_mail_passwords_unchanged(
    settings: Settings, database_url: str, clean_state: None, imap: ImapServer
) -> None:
    """`hub secrets rotate` covers content too: a password sealed under key A opens under
    B alone afterwards, and the account still signs in."""
    async with running(settings, A) as client:
        owner = await person(client, database_url, "owner@example.com")
        org = (await create_org(client, owner))["id"]
        account = (await add_account(client, owner, org, imap)).json()
    before = await asyncio.to_thread(hub_secrets, settings, "status", B, A)
    assert _row(before, "mail account passwords") == ["0", "1", "0", "-"], before
    rotated = await asyncio.to_thread(hub_secrets, settings, "rotate", B, A)
    assert "mail account passwords: 1 moved to the current key, 0 already on it" in rotated
    (row,) = await fetch(database_url, "SELECT id, password_sealed FROM content.mail_accounts")
    opened = Sealer([B], MAIL_SEAL).open(bytes(row["password_sealed"]), context=row["id"].bytes)
    assert opened.decode() == PASSWORD
    with pytest.raises(UnsealableError):
        Sealer([A], MAIL_SEAL).open(bytes(row["password_sealed"]), context=row["id"].bytes)
    async with running(settings, B) as client:
        r = await client.post(f"{accounts_url(org)}/{account['id']}/test", headers=owner.auth)
        assert r.json()["ok"] is True, r.json()


async def test_a_rule_keeps_the_mail_itself_and_filters_on_recipients_body_and_names(
    client: Client, database_url: str, events: InProcessWorker, imap: ImapServer
) -> None:
    """Paperless-ngx's consumption scope "everything": the mail becomes an ``.eml``
    document (searchable by its body) beside its attachments; the recipient and body
    filters pick the mail, the exclusion pattern leaves the logo out."""
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    attachments = (("invoice-7.pdf", pdf(b"invoice 7")), ("logo.png", b"\x89PNG\r\n"))
    invoices = "Invoices <invoices@clinic.example>"
    imap.deliver(mail("Invoice 7", attachments=attachments, to=invoices, body="AMOUNT due: 70"))
    imap.deliver(mail("Newsletter", attachments=attachments, to=invoices, body="Hello"))
    imap.deliver(mail("Invoice 8", attachments=attachments, body="Amount due: 80"))
    account = (await add_account(client, owner, org, imap)).json()
    body = {
        "accountId": account["id"],
        "name": "Invoices, whole",
        "filterTo": "invoices@CLINIC",
        "filterBody": "amount due",
        "filterAttachmentExclude": "logo*",
        "consumption": "everything",
    }
    r = await client.post(rules_url(org), json=body, headers=owner.auth)
    assert r.status_code == 201, r.text
    rule = r.json()
    assert {k: rule[k] for k in body if k != "accountId"} == {
        k: v for k, v in body.items() if k != "accountId"
    }
    await client.post(f"{accounts_url(org)}/{account['id']}/process", headers=owner.auth)
    await events.drain(within=30)

    r = await client.get(f"{rules_url(org)}/{rule['id']}/processed", headers=owner.auth)
    processed = {p["subject"]: p for p in r.json()["items"]}
    assert processed["Invoice 7"]["status"] == "consumed"
    assert (processed["Newsletter"]["status"], processed["Invoice 8"]["status"]) == (
        "skipped",
        "skipped",
    )
    r = await client.get(DOCS, params={"organisationId": org}, headers=owner.auth)
    documents = {d["fileName"]: d for d in r.json()["items"]}
    assert set(documents) == {"Invoice 7.eml", "invoice-7.pdf"}
    assert sorted(processed["Invoice 7"]["documentIds"]) == sorted(
        d["id"] for d in documents.values()
    )
    rows = await fetch(
        database_url,
        "SELECT payload->>'origin' AS origin, payload->>'originRef' AS ref, "
        "payload->>'documentId' AS id FROM content.outbox "
        "WHERE event_type = 'content.document.uploaded'",
    )
    origins = {row["id"]: (row["origin"], row["ref"]) for row in rows}
    assert {origins[d["id"]] for d in documents.values()} == {("mail", rule["id"])}
    whole = documents["Invoice 7.eml"]
    assert (whole["title"], whole["mediaType"]) == ("Invoice 7", "message/rfc822")
    r = await client.get(f"{DOCS}/{whole['id']}/content", headers=owner.auth)
    assert r.headers["content-type"].startswith("message/rfc822")
    assert r.headers["content-disposition"].startswith("attachment")
    assert b"Subject: Invoice 7" in r.content
    # The mail's text was extracted: a search for its body finds it.
    r = await client.get(
        f"{API}/search", params={"organisationId": org, "q": "amount"}, headers=owner.auth
    )
    assert whole["id"] in [hit["id"] for hit in r.json()["items"]], r.text

    # Changing what the rule takes has it look at the mails it skipped again (and only
    # those): without the body filter the newsletter is taken, kept whole this time.
    r = await client.patch(
        f"{rules_url(org)}/{rule['id']}",
        json={"consumption": "mail", "filterBody": None},
        headers=owner.auth,
    )
    assert (r.status_code, r.json()["consumption"], r.json()["filterBody"]) == (200, "mail", None)
    await client.post(f"{accounts_url(org)}/{account['id']}/process", headers=owner.auth)
    await events.drain(within=30)
    r = await client.get(DOCS, params={"organisationId": org}, headers=owner.auth)
    assert sorted(d["fileName"] for d in r.json()["items"]) == [
        "Invoice 7.eml",
        "Newsletter.eml",
        "invoice-7.pdf",
    ]
    r = await client.get(f"{rules_url(org)}/{rule['id']}/processed", headers=owner.auth)
    statuses = {p["subject"]: p["status"] for p in r.json()["items"]}
    assert (statuses["Newsletter"], statuses["Invoice 8"]) == ("consumed", "skipped")
    # A change of name or tags leaves the record alone.
    r = await client.patch(
        f"{rules_url(org)}/{rule['id']}", json={"name": "Renamed"}, headers=owner.auth
    )
    r = await client.get(f"{rules_url(org)}/{rule['id']}/processed", headers=owner.auth)
    assert {p["subject"]: p["status"] for p in r.json()["items"]} == statuses
    r = await client.patch(
        f"{rules_url(org)}/{rule['id']}", json={"consumption": "eml"}, headers=owner.auth
    )
    assert r.status_code == 400
    assert "consumption" in r.text
