"""Server-sent events against a real uvicorn server: a single-use ticket, then the inbox
item the worker's fan-out publishes through Redis reaches the open stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from hub.worker import InProcessWorker
from tests.integration.communication.support import org_with, sent
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import api_key

STREAM = f"{API}/stream"


async def _next_event(lines: AsyncIterator[str], name: str) -> dict[str, Any]:
    """The data of the next event called ``name`` (comments and other events skipped)."""
    current = None
    async for line in lines:
        if line.startswith("event: "):
            current = line.removeprefix("event: ")
        elif line.startswith("data: ") and current == name:
            data: dict[str, Any] = json.loads(line.removeprefix("data: "))
            return data
    raise AssertionError(f"the stream ended before a {name!r} event")


async def test_a_notification_reaches_the_open_stream(
    live_client: httpx.AsyncClient, database_url: str, events: InProcessWorker
) -> None:
    owner, org, people = await org_with(live_client, database_url, ("ann", None))
    ann = people["ann"]
    r = await live_client.post(f"{STREAM}/ticket", headers=ann.auth)
    assert r.status_code == 201, r.text
    ticket = r.json()["ticket"]
    assert r.json()["expiresAt"]

    async with live_client.stream("GET", STREAM, params={"ticket": ticket}) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        await asyncio.wait_for(_next_event(lines, "ready"), 20)
        note = await sent(live_client, owner, org, recipients={"userIds": [ann.user_id]})
        await events.drain()
        item = await asyncio.wait_for(_next_event(lines, "notification"), 20)
    assert (item["notificationId"], item["title"], item["body"]) == (note["id"], "Hello", "World")

    # the ticket was spent by that connection; a made-up one is no better
    for spent in (ticket, "x" * 43):
        r = await live_client.get(STREAM, params={"ticket": spent})
        assert (r.status_code, r.json()["code"]) == (401, "invalid_stream_ticket")
    key = await api_key(live_client, ann, ["content.documents.read"])
    r = await live_client.post(f"{STREAM}/ticket", headers={"X-API-Key": key["key"]})
    assert (r.status_code, r.json()["code"]) == (403, "session_required")
    assert (await live_client.post(f"{STREAM}/ticket")).status_code == 401
