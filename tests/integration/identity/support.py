"""Helpers for identity's black-box tests: read queued mail, drive the sign-in flows."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import msgspec
import pyotp
from sqlalchemy.engine import make_url

from hub.identity.domain.settings import IdentitySettings
from hub.kernel.mail import open_mail
from hub.kernel.settings import DEFAULT_SECRET_KEY, Settings

API = "/api/v1"
PASSKEYS = f"{API}/auth/passkeys"
PASSWORD = "correct horse battery staple"


def plain_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def fetch(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


#: Keys the test apps seal queued mail with: the default HUB_SECRET_KEY of the test settings,
#: plus any a test runs the app with (:func:`mail_key`).
_MAIL_KEYS: list[str] = [DEFAULT_SECRET_KEY]


def mail_key(key: str) -> None:
    """Let :func:`queued_mail` open mail queued by an app running with ``HUB_SECRET_KEY=key``."""
    if key not in _MAIL_KEYS:
        _MAIL_KEYS.append(key)


def open_queued(sealed: object) -> dict[str, Any]:
    """A queued mail as the send job sees it (the outbox holds it sealed)."""
    keys = msgspec.structs.replace(
        Settings(), secret_key=_MAIL_KEYS[0], secret_key_previous=tuple(_MAIL_KEYS[1:])
    )
    opened: dict[str, Any] = msgspec.to_builtins(open_mail(sealed, keys))
    return opened


async def queued_mail(database_url: str, to: str | None = None) -> list[dict[str, Any]]:
    """Mail identity queued (committed to its outbox for the mail job), oldest first,
    opened with the test keys (a reader of the database alone sees only ciphertext)."""
    rows = await fetch(
        database_url,
        "SELECT payload FROM identity.outbox WHERE event_type = 'kernel.job_requested' "
        "ORDER BY position",
    )
    mails = []
    for row in rows:
        payload = json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"]
        if payload.get("job") != "kernel.send_mail":
            continue
        message = open_queued(payload["args"][0])
        if to is None or to in message["to"]:
            mails.append(message)
    return mails


async def events(database_url: str, event_type: str) -> list[dict[str, Any]]:
    rows = await fetch(
        database_url,
        "SELECT payload FROM identity.outbox WHERE event_type = $1 ORDER BY position",
        event_type,
    )
    return [
        json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"] for r in rows
    ]


def link_token(mail: dict[str, Any]) -> str:
    link = re.search(r"https?://\S+", mail["text"])
    assert link, mail["text"]
    return parse_qs(urlsplit(link.group(0)).query)["token"][0]


async def last_token(database_url: str, to: str, subject_part: str) -> str:
    mails = [m for m in await queued_mail(database_url, to) if subject_part in m["subject"]]
    assert mails, f"no mail about {subject_part!r} to {to}"
    return link_token(mails[-1])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(
    client: httpx.AsyncClient | Any, email: str, password: str = PASSWORD, name: str = "Alice"
) -> httpx.Response:
    return await client.post(
        f"{API}/auth/register", json={"email": email, "password": password, "displayName": name}
    )


async def signed_up(
    client: Any, database_url: str, email: str, password: str = PASSWORD, name: str = "Alice"
) -> None:
    """Register and confirm the address through the e-mailed link."""
    r = await register(client, email, password, name)
    assert r.status_code == 202, r.text
    token = await last_token(database_url, email.strip().lower(), "Confirm your e-mail")
    r = await client.post(f"{API}/auth/verify-email", json={"token": token})
    assert r.status_code == 200, r.text


async def login(client: Any, email: str, password: str = PASSWORD, **kw: Any) -> httpx.Response:
    return await client.post(f"{API}/auth/login", json={"email": email, "password": password}, **kw)


async def signed_in(
    client: Any, database_url: str, email: str, password: str = PASSWORD
) -> dict[str, Any]:
    await signed_up(client, database_url, email, password)
    r = await login(client, email, password)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["status"] == "authenticated"
    return body


def totp_code(secret: str, *, steps: int = 0, at: datetime | None = None) -> str:
    """The code of ``steps`` 30-second steps from ``at`` (a test clock's time; else now)."""
    moment = (at or datetime.now(UTC)).timestamp()
    return str(pyotp.TOTP(secret).at(moment + 30 * steps))


async def enrol_totp(client: Any, headers: dict[str, str]) -> tuple[str, list[str]]:
    """Turn TOTP on for the signed-in caller: its secret and recovery codes."""
    r = await client.post(f"{API}/auth/mfa/totp/setup", headers=headers)
    assert r.status_code == 200, r.text
    secret = str(r.json()["secret"])
    r = await client.post(
        f"{API}/auth/mfa/totp/confirm", json={"code": totp_code(secret)}, headers=headers
    )
    assert r.status_code == 200, r.text
    return secret, list(r.json()["recoveryCodes"])


def production_hashing(settings: Settings) -> Settings:
    """The suite runs with cheap argon2 (tests/conftest.py); this is what production has."""
    defaults = IdentitySettings()
    return settings.replace(
        password_hash_time_cost=defaults.password_hash_time_cost,
        password_hash_memory_kib=defaults.password_hash_memory_kib,
    )
