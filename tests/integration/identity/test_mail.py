"""Security e-mails travel the real pipeline (outbox → relay → mail job → dev mailbox)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.kernel.mail import Mailbox
from tests.integration.identity.support import API, login, register


async def test_verification_and_reset_mails_arrive_and_their_links_work(
    client: AsyncTestClient[Litestar], events: Any, mailbox: Mailbox
) -> None:
    assert (
        await register(client, "Mail@Example.com", name="Ada <b>Lovelace</b>")
    ).status_code == 202
    await events.drain()
    (mail,) = mailbox.list(to="mail@example.com")
    assert mail.subject == "Confirm your e-mail address for Hub"
    assert mail.html is not None
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in mail.html
    (link,) = mail.links()
    assert link.startswith("http://127.0.0.1:8000/verify-email?token=hub_et_")
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert (await client.post(f"{API}/auth/verify-email", json={"token": token})).status_code == 200

    await client.post(f"{API}/auth/password/forgot", json={"email": "mail@example.com"})
    await client.post(f"{API}/auth/password/forgot", json={"email": "nobody@example.com"})
    await events.drain()
    reset = mailbox.list(to="mail@example.com")[-1]
    assert reset.subject == "Reset your Hub password"
    assert mailbox.list(to="nobody@example.com") == []
    token = parse_qs(urlsplit(reset.links()[0]).query)["token"][0]
    r = await client.post(
        f"{API}/auth/password/reset", json={"token": token, "newPassword": "fresh and long enough"}
    )
    assert r.status_code == 200
    assert (await login(client, "mail@example.com", "fresh and long enough")).status_code == 200
    await events.drain()
    assert mailbox.list(to="mail@example.com")[-1].subject == "Your Hub password was changed"
