"""Threads in conversations: replies posted in a top-level message's thread leave the main
timeline, are listed by ``threadId`` and counted on their root (exactly, under concurrent
replies); threads do not nest; bad input names ``threadId`` and sends nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.integration.communication.support import Client, org_with
from tests.integration.communication.support_conversations import (
    CONVERSATIONS,
    chat_and_elsewhere,
    conversation,
    messages,
    say,
    unread_total,
)
from tests.integration.identity.support import fetch


def bodies(page: dict[str, Any]) -> list[str]:
    return [m["body"] for m in page["items"]]


async def test_replies_in_a_thread_leave_the_timeline_and_count_on_their_root(
    client: Client, database_url: str
) -> None:
    _, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    chat = await conversation(client, ann, org, bob, title="Team")
    root = await say(client, ann, chat["id"], "Release plan?")
    assert (root["threadId"], root["threadReplyCount"], root["threadLastReplyAt"]) == (
        None,
        0,
        None,
    )
    first = await say(client, bob, chat["id"], "Friday", threadId=root["id"])
    assert first["threadId"] == root["id"]
    second = await say(client, ann, chat["id"], "Works for me", threadId=root["id"])
    await say(client, bob, chat["id"], "Lunch?")

    timeline = await messages(client, ann, chat["id"])
    assert bodies(timeline) == ["Lunch?", "Release plan?"]
    shown_root = timeline["items"][1]
    assert shown_root["threadReplyCount"] == 2
    assert shown_root["threadLastReplyAt"] == second["createdAt"]
    thread = await messages(client, bob, chat["id"], threadId=root["id"])
    assert bodies(thread) == ["Works for me", "Friday"]
    assert {m["threadId"] for m in thread["items"]} == {root["id"]}
    later = await messages(client, bob, chat["id"], threadId=root["id"], after=first["id"])
    assert bodies(later) == ["Works for me"]
    # A quote-reply inside the thread, and the words of replies are searched too.
    quoted = await say(
        client, bob, chat["id"], "Friday it is", threadId=root["id"], replyToId=second["id"]
    )
    assert (quoted["threadId"], quoted["replyToId"]) == (root["id"], second["id"])
    r = await client.get(
        f"{CONVERSATIONS}/search", params={"organisationId": org, "q": "friday"}, headers=ann.auth
    )
    assert {(m["body"], m["threadId"]) for m in r.json()["items"]} == {
        ("Friday", root["id"]),
        ("Friday it is", root["id"]),
    }
    # Replies are unread like any message until the conversation is read: Ann's pointer is
    # at her own reply; after it came "Lunch?" and Bob's reply in the thread.
    assert await unread_total(client, ann, organisationId=org) == 2
    # Each root says how many of those are its thread's, to the reader it is shown to.
    (shown,) = [
        m for m in (await messages(client, ann, chat["id"]))["items"] if m["id"] == root["id"]
    ]
    assert shown["threadUnreadCount"] == 1  # "Friday it is"; "Lunch?" is the timeline's
    (seen,) = [
        m for m in (await messages(client, bob, chat["id"]))["items"] if m["id"] == root["id"]
    ]
    assert seen["threadUnreadCount"] == 0  # Bob wrote the last of them
    r = await client.post(f"{CONVERSATIONS}/{chat['id']}/read", json={}, headers=ann.auth)
    assert r.status_code == 200, r.text
    (shown,) = [
        m for m in (await messages(client, ann, chat["id"]))["items"] if m["id"] == root["id"]
    ]
    assert shown["threadUnreadCount"] == 0
    # A deleted root keeps its thread: the replies are still listed, none may be added.
    r = await client.delete(f"{CONVERSATIONS}/{chat['id']}/messages/{root['id']}", headers=ann.auth)
    assert r.status_code == 204
    assert len((await messages(client, ann, chat["id"], threadId=root["id"]))["items"]) == 3
    r = await client.post(
        f"{CONVERSATIONS}/{chat['id']}/messages",
        json={"body": "late", "threadId": root["id"]},
        headers=bob.auth,
    )
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "message_deleted"


async def test_concurrent_replies_are_all_counted(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    client = live_client  # a real server: the test client serves one request at a time
    _, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    chat = await conversation(client, ann, org, bob)
    root = await say(client, ann, chat["id"], "Count us")
    replies = await asyncio.gather(
        *(
            say(client, (ann, bob)[i % 2], chat["id"], f"r{i}", threadId=root["id"])
            for i in range(12)
        )
    )
    assert len({m["seq"] for m in replies}) == 12
    (shown_root,) = (await messages(client, bob, chat["id"]))["items"]
    assert shown_root["threadReplyCount"] == 12
    assert shown_root["threadLastReplyAt"] == max(m["createdAt"] for m in replies)


async def test_bad_thread_ids_are_refused_and_send_nothing(
    client: Client, database_url: str
) -> None:
    owner, _, ann, bob, chat, elsewhere = await chat_and_elsewhere(client, database_url)
    root = await say(client, ann, chat["id"], "root")
    reply = await say(client, bob, chat["id"], "reply", threadId=root["id"])
    foreign = await say(client, owner, elsewhere["id"], "not Ann's")
    url = f"{CONVERSATIONS}/{chat['id']}/messages"
    before = await fetch(database_url, "SELECT count(*) AS n FROM communication.messages")

    for target, code in (
        (foreign["id"], "unknown_message"),
        ("01890000-0000-7000-8000-000000000000", "unknown_message"),
        (reply["id"], "not_a_thread_root"),  # threads do not nest
    ):
        r = await client.post(url, json={"body": "x", "threadId": target}, headers=ann.auth)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == code
        assert r.json()["errors"][0]["field"] == "threadId"
        r = await client.get(url, params={"threadId": target}, headers=ann.auth)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "threadId"
    for bad in ("nope", "\u00a0", "1" * 40):
        r = await client.post(url, json={"body": "x", "threadId": bad}, headers=ann.auth)
        assert r.status_code == 400, r.text
        r = await client.get(url, params={"threadId": bad}, headers=ann.auth)
        assert r.status_code == 400, r.text
    # Someone outside the conversation learns nothing about its threads.
    r = await client.get(url, params={"threadId": root["id"]}, headers=owner.auth)
    assert r.status_code == 404
    after = await fetch(database_url, "SELECT count(*) AS n FROM communication.messages")
    assert after == before
    (shown_root,) = (await messages(client, ann, chat["id"]))["items"]
    assert shown_root["threadReplyCount"] == 1
