"""Conversations through HTTP: who sees what (404 for outsiders and non-participants),
one direct conversation per pair even when created concurrently, group membership rules,
messages with edits and tombstones, cursor pages both ways, attachments shown per reader,
and bad input answered with problems naming the field."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from tests.integration.communication.support import Client, org_with
from tests.integration.communication.support_conversations import (
    CONVERSATIONS,
    chat_and_elsewhere,
    conversation,
    messages,
    say,
    shown,
)
from tests.integration.communication.support_periodic import periodic_kernel
from tests.integration.content.support import DOCS, pdf, uploaded
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, api_key, create_org, person


async def test_outsiders_and_non_participants_get_404_everywhere(
    client: Client, database_url: str
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    outsider = await person(client, database_url, "outsider@example.com")
    other_org = (await create_org(client, outsider, "Elsewhere"))["id"]

    direct = await conversation(client, owner, org, ann)
    assert direct["kind"] == "direct"
    first = await say(client, owner, direct["id"], "hello")
    cid, mid = direct["id"], first["id"]
    for who in (bob, outsider):
        calls: list[tuple[str, str, dict[str, Any] | None]] = [
            ("GET", f"{CONVERSATIONS}/{cid}", None),
            ("GET", f"{CONVERSATIONS}/{cid}/messages", None),
            ("POST", f"{CONVERSATIONS}/{cid}/messages", {"body": "let me in"}),
            ("PATCH", f"{CONVERSATIONS}/{cid}/messages/{mid}", {"body": "mine now"}),
            ("DELETE", f"{CONVERSATIONS}/{cid}/messages/{mid}", None),
            ("POST", f"{CONVERSATIONS}/{cid}/read", {}),
            ("POST", f"{CONVERSATIONS}/{cid}/participants", {"userIds": [who.user_id]}),
            ("DELETE", f"{CONVERSATIONS}/{cid}/participants/{ann.user_id}", None),
        ]
        for method, url, body in calls:
            r = await client.request(method, url, json=body, headers=who.auth)
            assert r.status_code == 404, (who.email, method, url, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
    # the outsider cannot list, count or start conversations in the organisation
    r = await client.get(CONVERSATIONS, params={"organisationId": org}, headers=outsider.auth)
    assert r.status_code == 404
    r = await client.get(
        f"{CONVERSATIONS}/unread-count", params={"organisationId": org}, headers=outsider.auth
    )
    assert r.status_code == 404
    r = await client.post(
        CONVERSATIONS,
        json={"organisationId": org, "participantIds": [ann.user_id]},
        headers=outsider.auth,
    )
    assert r.status_code == 404
    # nor may a member start one with someone outside the organisation
    r = await client.post(
        CONVERSATIONS,
        json={"organisationId": org, "participantIds": [outsider.user_id]},
        headers=owner.auth,
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["participantIds[0]"]
    # the outsider's own organisation shows nothing of it
    r = await client.get(CONVERSATIONS, params={"organisationId": other_org}, headers=outsider.auth)
    assert r.json()["items"] == []
    # bob sees no conversation, ann sees it with its unread message
    r = await client.get(CONVERSATIONS, params={"organisationId": org}, headers=bob.auth)
    assert r.json()["items"] == []
    r = await client.get(CONVERSATIONS, params={"organisationId": org}, headers=ann.auth)
    (item,) = r.json()["items"]
    assert (item["id"], item["unreadCount"], item["lastMessage"]["body"]) == (cid, 1, "hello")
    # API keys are refused: read state belongs to a person
    key = await api_key(client, ann, ["content.documents.read"])
    r = await client.get(f"{CONVERSATIONS}/{cid}", headers={"X-API-Key": key["key"]})
    assert (r.status_code, r.json()["code"]) == (403, "session_required")

    # a member who leaves the organisation loses the conversation
    r = await client.get(f"{CONVERSATIONS}/{cid}", headers=ann.auth)
    assert r.status_code == 200
    r = await client.delete(f"{API}/orgs/{org}/members/{ann.user_id}", headers=ann.auth)
    assert r.status_code == 204, r.text
    r = await client.get(f"{CONVERSATIONS}/{cid}", headers=ann.auth)
    assert r.status_code == 404


async def test_one_direct_conversation_per_pair_even_when_created_at_once(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    client = live_client  # a real server: the test client serves one request at a time
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]

    async def start(who: Person, other: Person) -> Any:
        return await client.post(
            CONVERSATIONS,
            json={"organisationId": org, "participantIds": [other.user_id]},
            headers=who.auth,
        )

    answers = await asyncio.gather(
        *(start(owner, ann) if n % 2 else start(ann, owner) for n in range(16))
    )
    assert {r.status_code for r in answers} <= {200, 201}
    assert sorted(r.status_code for r in answers).count(201) == 1
    assert len({r.json()["id"] for r in answers}) == 1
    rows = await fetch(
        database_url, "SELECT count(*) AS n FROM communication.conversations WHERE kind = 'direct'"
    )
    assert rows[0]["n"] == 1
    (only,) = {r.json()["id"] for r in answers}
    parts = (await shown(client, ann, only))["participants"]
    assert sorted(p["userId"] for p in parts) == sorted([owner.user_id, ann.user_id])
    # naming yourself too is the same pair; a group with the same people is another thing
    again = await conversation(client, ann, org, owner, ann)
    assert again["id"] == only
    group = await conversation(client, ann, org, owner, kind="group")
    assert (group["id"] != only, group["kind"]) == (True, "group")


async def test_group_admins_add_and_remove_people_anyone_may_leave(
    client: Client, database_url: str
) -> None:
    owner, org, people = await org_with(
        client, database_url, ("ann", None), ("bob", None), ("cat", None)
    )
    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    group = await conversation(client, ann, org, bob, title="Planning")
    assert (group["kind"], group["title"]) == ("group", "Planning")
    roles = {p["userId"]: p["role"] for p in group["participants"]}
    assert roles == {ann.user_id: "admin", bob.user_id: "member"}
    await say(client, ann, group["id"], "before cat")
    url = f"{CONVERSATIONS}/{group['id']}/participants"

    r = await client.post(url, json={"userIds": [cat.user_id]}, headers=bob.auth)
    assert (r.status_code, r.json()["code"]) == (403, "not_conversation_admin")
    r = await client.post(url, json={"userIds": [cat.user_id]}, headers=ann.auth)
    assert r.status_code == 200, r.text
    assert cat.user_id in {p["userId"] for p in r.json()["participants"]}
    # cat joins caught up: the earlier message is there to read, not unread
    cat_view = await shown(client, cat, group["id"])
    assert cat_view["unreadCount"] == 0
    assert [m["body"] for m in (await messages(client, cat, group["id"]))["items"]] == [
        "before cat"
    ]
    r = await client.delete(f"{url}/{cat.user_id}", headers=bob.auth)
    assert r.status_code == 403
    r = await client.delete(f"{url}/{bob.user_id}", headers=bob.auth)  # leaving
    assert r.status_code == 204
    assert (await client.get(f"{CONVERSATIONS}/{group['id']}", headers=bob.auth)).status_code == 404
    r = await client.delete(f"{url}/{bob.user_id}", headers=ann.auth)
    assert r.status_code == 404
    # the last admin leaving hands the group to the longest-standing participant
    r = await client.delete(f"{url}/{ann.user_id}", headers=ann.auth)
    assert r.status_code == 204
    roles = {
        p["userId"]: p["role"] for p in (await shown(client, cat, group["id"]))["participants"]
    }
    assert roles == {cat.user_id: "admin"}
    # a direct conversation never changes
    direct = await conversation(client, owner, org, ann)
    r = await client.post(
        f"{CONVERSATIONS}/{direct['id']}/participants",
        json={"userIds": [bob.user_id]},
        headers=owner.auth,
    )
    assert (r.status_code, r.json()["code"]) == (409, "direct_conversation")


async def test_edit_delete_tombstones_and_pages_both_ways(
    client: Client, database_url: str
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    cid = (await conversation(client, owner, org, ann))["id"]
    sent = [await say(client, owner if n % 2 else ann, cid, f"m{n}") for n in range(7)]
    assert [m["seq"] for m in sent] == list(range(1, 8))
    ids = [m["id"] for m in sent]

    # newest first, then older by cursor
    seen: list[str] = []
    page = await messages(client, ann, cid, limit=3)
    while True:
        seen += [m["id"] for m in page["items"]]
        if page["nextCursor"] is None:
            break
        page = await messages(client, ann, cid, limit=3, cursor=page["nextCursor"])
    assert seen == ids[::-1]
    # before a message: older ones, newest first
    page = await messages(client, ann, cid, before=ids[4], limit=2)
    assert [m["body"] for m in page["items"]] == ["m3", "m2"]
    page = await messages(client, ann, cid, cursor=page["nextCursor"], limit=2)
    assert [m["body"] for m in page["items"]] == ["m1", "m0"]
    assert page["nextCursor"] is None
    # after a message: newer ones, oldest first, and on by cursor
    page = await messages(client, ann, cid, after=ids[1], limit=3)
    assert [m["body"] for m in page["items"]] == ["m2", "m3", "m4"]
    page = await messages(client, ann, cid, cursor=page["nextCursor"], limit=3)
    assert [m["body"] for m in page["items"]] == ["m5", "m6"]
    assert page["nextCursor"] is None

    # edit and delete your own; a tombstone keeps the place
    m1 = sent[1]  # owner's
    url = f"{CONVERSATIONS}/{cid}/messages/{m1['id']}"
    r = await client.patch(url, json={"body": "m1, corrected"}, headers=ann.auth)
    assert (r.status_code, r.json()["code"]) == (403, "not_your_message")
    r = await client.patch(url, json={"body": "m1, corrected"}, headers=owner.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["body"], r.json()["editedAt"] is not None) == ("m1, corrected", True)
    assert (await client.delete(url, headers=ann.auth)).status_code == 403
    assert (await client.delete(url, headers=owner.auth)).status_code == 204
    assert (await client.delete(url, headers=owner.auth)).status_code == 204  # no change
    r = await client.patch(url, json={"body": "back"}, headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (409, "message_deleted")
    page = await messages(client, ann, cid, after=ids[0], limit=1)
    (tomb,) = page["items"]
    assert (tomb["id"], tomb["deleted"], tomb["body"], tomb["attachments"]) == (
        m1["id"],
        True,
        "",
        [],
    )
    assert tomb["deletedAt"] is not None
    stored = await fetch(
        database_url, "SELECT body FROM communication.messages WHERE id = $1::uuid", m1["id"]
    )
    assert stored[0]["body"] == ""  # the text is gone from the database too
    # a retried send with the same Idempotency-Key answers the same message, sent once
    headers = {**ann.auth, "Idempotency-Key": "send-once-1"}
    url = f"{CONVERSATIONS}/{cid}/messages"
    first = await client.post(url, json={"body": "once"}, headers=headers)
    again = await client.post(url, json={"body": "once"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"]
    assert [m["body"] for m in (await messages(client, ann, cid, limit=2))["items"]] == [
        "once",
        "m6",
    ]
    # text is stored exactly as sent: markup stays text
    odd = "  <b>bold</b> *not markdown* \n\t\u00e9\U0001f600  "
    assert (await say(client, ann, cid, odd))["body"] == odd


async def test_attachments_show_only_to_readers_who_may_read_them(
    client: Client, database_url: str
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    secret = await uploaded(client, owner, org, pdf(b"secret"), title="Secret plan")
    r = await client.put(
        f"{DOCS}/{secret['id']}/permissions",
        json={"restricted": True, "shares": [{"userId": ann.user_id, "access": "view"}]},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    public = await uploaded(client, owner, org, pdf(b"public"), title="Menu")
    group = await conversation(client, owner, org, ann, bob, title="Team")
    sent = await say(client, owner, group["id"], "see", attachments=[secret["id"], public["id"]])
    assert [a["title"] for a in sent["attachments"]] == ["Secret plan", "Menu"]

    def attachments(page: dict[str, Any]) -> list[tuple[str, bool, str | None]]:
        (message,) = page["items"]
        return [(a["documentId"], a["available"], a["title"]) for a in message["attachments"]]

    assert attachments(await messages(client, ann, group["id"])) == [
        (secret["id"], True, "Secret plan"),
        (public["id"], True, "Menu"),
    ]
    got = await messages(client, bob, group["id"])
    assert attachments(got) == [(secret["id"], False, None), (public["id"], True, "Menu")]
    hidden = got["items"][0]["attachments"][0]
    assert hidden == {
        "documentId": secret["id"],
        "available": False,
        "title": None,
        "fileName": None,
        "mediaType": None,
        "size": None,
    }
    # attaching never grants access: bob still cannot open the document
    assert (await client.get(f"{DOCS}/{secret['id']}", headers=bob.auth)).status_code == 404
    # the conversation list's last message follows the same rule
    r = await client.get(CONVERSATIONS, params={"organisationId": org}, headers=bob.auth)
    (item,) = r.json()["items"]
    assert [a["title"] for a in item["lastMessage"]["attachments"]] == [None, "Menu"]
    # bob may not attach what he may not read (nor an unknown id)
    for doc in (secret["id"], "0191e6a8-5a8e-7000-8000-00000000dead"):
        r = await client.post(
            f"{CONVERSATIONS}/{group['id']}/messages",
            json={"body": "mine", "attachments": [public["id"], doc]},
            headers=bob.auth,
        )
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == ["attachments[1]"]
    # once the owner shares it with bob, bob sees the details
    r = await client.put(
        f"{DOCS}/{secret['id']}/permissions",
        json={"restricted": False, "shares": []},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    assert attachments(await messages(client, bob, group["id"]))[0] == (
        secret["id"],
        True,
        "Secret plan",
    )


async def test_bad_input_is_a_problem_naming_the_field(client: Client, database_url: str) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    cid = (await conversation(client, owner, org, ann))["id"]
    first = await say(client, owner, cid, "first")
    url = f"{CONVERSATIONS}/{cid}/messages"
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"body": "a\x00b"}, 422, "body"),
        ({"body": "x" * 10_001}, 422, "body"),
        ({"body": "   "}, 422, "body"),
        ({"body": 5}, 400, "body"),
        ({"body": "ok", "attachments": ["not-a-uuid"]}, 400, "attachments"),
    ]
    for body, status, field in cases:
        r = await client.post(url, json=body, headers=owner.auth)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in str(r.json()), (field, r.json())
    assert (await say(client, owner, cid, "x" * 10_000))["seq"] == 2  # the limit itself is fine

    create_cases: list[tuple[dict[str, Any], int, str]] = [
        ({"organisationId": org, "participantIds": []}, 400, "participantIds"),
        ({"organisationId": org, "participantIds": [ann.user_id], "title": "a\x00"}, 422, "title"),
        (
            {
                "organisationId": org,
                "participantIds": [ann.user_id],
                "kind": "direct",
                "title": "t",
            },
            422,
            "title",
        ),
        ({"organisationId": org, "participantIds": [owner.user_id]}, 422, "participantIds"),
    ]
    for body, status, field in create_cases:
        r = await client.post(CONVERSATIONS, json=body, headers=owner.auth)
        assert r.status_code == status, (body, r.text)
        assert field in str(r.json()), (field, r.json())

    r = await client.get(
        url, params={"before": first["id"], "after": first["id"]}, headers=ann.auth
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "after")
    unknown = "0191e6a8-5a8e-7000-8000-00000000beef"
    r = await client.get(url, params={"before": unknown}, headers=ann.auth)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "before")
    r = await client.get(url, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=ann.auth)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_cursor")
    r = await client.post(
        f"{CONVERSATIONS}/{cid}/read", json={"messageId": unknown}, headers=ann.auth
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "messageId")
    r = await client.patch(f"{url}/{first['id']}", json={"body": "\x00"}, headers=owner.auth)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "body")


async def test_messages_are_found_by_their_words_in_the_callers_conversations_only(
    client: Client, database_url: str
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    shared = await conversation(client, ann, org, bob)
    private = await conversation(client, owner, org, bob)  # Ann is not in it
    older = await say(client, ann, shared["id"], "The quarterly invoice is late")
    await say(client, bob, shared["id"], "lunch at noon?")
    newer = await say(client, bob, shared["id"], "Invoice paid, thanks!")
    await say(client, owner, private["id"], "invoice for Bob only")
    gone = await say(client, ann, shared["id"], "draft invoice text")
    r = await client.delete(
        f"{CONVERSATIONS}/{shared['id']}/messages/{gone['id']}", headers=ann.auth
    )
    assert r.status_code == 204

    async def found(who: Person, q: str, **params: Any) -> dict[str, Any]:
        r = await client.get(
            f"{CONVERSATIONS}/search",
            params={"organisationId": org, "q": q, **params},
            headers=who.auth,
        )
        assert r.status_code == 200, r.text
        page: dict[str, Any] = r.json()
        return page

    # Case ignored, newest first, deleted messages and others' conversations never.
    page = await found(ann, "INVOICE")
    assert [m["id"] for m in page["items"]] == [newer["id"], older["id"]]
    assert page["items"][0]["conversationId"] == shared["id"]
    assert page["items"][0]["body"] == "Invoice paid, thanks!"
    assert len((await found(bob, "invoice"))["items"]) == 3  # Bob is in both
    # Accents and case are folded both ways.
    accented = await say(client, bob, shared["id"], "Rendez-vous au CAFÉ à midi")
    for q in ("cafe", "Café", "a MIDI"):
        assert [m["id"] for m in (await found(ann, q))["items"]] == [accented["id"]], q
    # Web-search syntax: a phrase, an exclusion.
    assert [m["id"] for m in (await found(ann, '"quarterly invoice"'))["items"]] == [older["id"]]
    assert [m["id"] for m in (await found(ann, "invoice -paid"))["items"]] == [older["id"]]
    # Pages go on by cursor.
    first = await found(ann, "invoice", limit=1)
    assert [m["id"] for m in first["items"]] == [newer["id"]]
    second = await found(ann, "invoice", limit=1, cursor=first["nextCursor"])
    assert [m["id"] for m in second["items"]] == [older["id"]]
    assert second["nextCursor"] is None
    # Bad input: blanks only 422 naming q; missing or too long 400; odd bytes as text.
    for q, status in ((" \t ", 422), ("x" * 201, 400)):
        r = await client.get(
            f"{CONVERSATIONS}/search", params={"organisationId": org, "q": q}, headers=ann.auth
        )
        assert r.status_code == status, r.text
        assert any(e["field"] == "q" for e in r.json()["errors"])
    r = await client.get(f"{CONVERSATIONS}/search?organisationId={org}&q=%00", headers=ann.auth)
    assert r.status_code == 422
    assert (await found(ann, "in\u00a0voice ' & | ! :*"))["items"] == []
    # Outside the organisation: 404, as everywhere.
    outsider = await person(client, database_url, "outsider@example.com")
    r = await client.get(
        f"{CONVERSATIONS}/search",
        params={"organisationId": org, "q": "invoice"},
        headers=outsider.auth,
    )
    assert r.status_code == 404


async def test_a_message_may_reply_to_one_of_its_conversation(
    client: Client, database_url: str
) -> None:
    owner, _, ann, bob, chat, elsewhere = await chat_and_elsewhere(client, database_url)
    question = await say(client, ann, chat["id"], "Lunch?")
    assert question["replyToId"] is None
    answer = await say(client, bob, chat["id"], "Yes!", replyToId=question["id"])
    assert answer["replyToId"] == question["id"]
    listed = await messages(client, ann, chat["id"])
    assert [(m["body"], m["replyToId"]) for m in listed["items"]] == [
        ("Yes!", question["id"]),
        ("Lunch?", None),
    ]

    url = f"{CONVERSATIONS}/{chat['id']}/messages"
    foreign = await say(client, owner, elsewhere["id"], "not yours")
    for target in (foreign["id"], "01890000-0000-7000-8000-000000000000"):
        r = await client.post(url, json={"body": "x", "replyToId": target}, headers=ann.auth)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "replyToId"
    r = await client.post(url, json={"body": "x", "replyToId": "nope"}, headers=ann.auth)
    assert r.status_code == 400
    gone = await say(client, ann, chat["id"], "typo")
    r = await client.delete(f"{url}/{gone['id']}", headers=ann.auth)
    assert r.status_code == 204
    r = await client.post(url, json={"body": "x", "replyToId": gone["id"]}, headers=ann.auth)
    assert r.status_code == 409
    assert r.json()["code"] == "message_deleted"
    # Nothing was sent by the refused replies.
    assert len((await messages(client, ann, chat["id"]))["items"]) == 3


async def test_typing_signals_are_pushed_at_most_every_two_seconds(
    client: Client, database_url: str, settings: Settings
) -> None:
    """On a test clock: one signal per person and conversation every two seconds; others'
    signals, and other conversations', are their own; outsiders get 404."""
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    chat = uuid.UUID((await conversation(client, ann, org, bob))["id"])
    other = uuid.UUID((await conversation(client, ann, org, owner))["id"])
    clock = MovableClock(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    async with periodic_kernel(settings, clock) as kernel:
        typing = kernel.services["conversation_messages"].typing
        a, b = uuid.UUID(ann.user_id), uuid.UUID(bob.user_id)
        assert await typing(a, chat) is True
        assert await typing(a, chat) is False
        clock.advance(seconds=1.9)
        assert await typing(a, chat) is False
        assert await typing(b, chat) is True  # Bob's own signal
        assert await typing(a, other) is True  # another conversation
        clock.advance(seconds=0.1)
        assert await typing(a, chat) is True
    r = await client.post(f"{CONVERSATIONS}/{chat}/typing", headers=owner.auth)
    assert r.status_code == 404  # not a participant
    r = await client.post(f"{CONVERSATIONS}/{chat}/typing", headers=ann.auth)
    assert r.status_code == 204


async def test_reactions_are_counted_per_name_and_kept_once_per_person(
    client: Client, database_url: str
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    chat = await conversation(client, ann, org, bob, title="Team")
    note = await say(client, ann, chat["id"], "Shipped!")
    assert note["reactions"] == []
    url = f"{CONVERSATIONS}/{chat['id']}/messages/{note['id']}/reactions"

    async def react(who: Person, name: str, method: str = "PUT") -> Any:
        return await client.request(method, f"{url}/{name}", headers=who.auth)

    r = await react(bob, "tada")
    assert r.status_code == 200, r.text
    assert r.json()["reactions"] == [{"name": "tada", "count": 1, "mine": True}]
    assert (await react(bob, "tada")).status_code == 200  # twice: still one
    r = await react(ann, "tada")
    assert r.json()["reactions"] == [{"name": "tada", "count": 2, "mine": True}]
    r = await react(ann, "+1")
    assert r.json()["reactions"] == [
        {"name": "tada", "count": 2, "mine": True},
        {"name": "+1", "count": 1, "mine": True},
    ]
    # Each reader sees their own "mine", in pages and search alike.
    [seen] = (await messages(client, bob, chat["id"]))["items"]
    assert seen["reactions"] == [
        {"name": "tada", "count": 2, "mine": True},
        {"name": "+1", "count": 1, "mine": False},
    ]
    r = await client.get(
        f"{CONVERSATIONS}/search", params={"organisationId": org, "q": "shipped"}, headers=bob.auth
    )
    assert r.json()["items"][0]["reactions"] == seen["reactions"]
    r = await react(ann, "tada", "DELETE")
    assert r.status_code == 200, r.text
    assert r.json()["reactions"][0] == {"name": "tada", "count": 1, "mine": False}
    assert (await react(ann, "tada", "DELETE")).status_code == 200  # nothing to take back

    # Bad names, other conversations, outsiders, too many names, deleted messages.
    for bad in ("Thumbs", "a" * 33, "th%20up", "%F0%9F%91%8D"):
        assert (await react(ann, bad)).status_code == 400, bad
    other = await conversation(client, owner, org, bob)
    elsewhere = await say(client, owner, other["id"], "not Ann's")
    r = await client.put(
        f"{CONVERSATIONS}/{chat['id']}/messages/{elsewhere['id']}/reactions/tada",
        headers=ann.auth,
    )
    assert r.status_code == 404
    r = await client.put(
        f"{CONVERSATIONS}/{other['id']}/messages/{elsewhere['id']}/reactions/tada",
        headers=ann.auth,
    )
    assert r.status_code == 404  # not a participant
    for i in range(18):
        assert (await react(bob, f"r{i}")).status_code == 200
    r = await react(bob, "one-too-many")
    assert (r.status_code, r.json()["code"]) == (409, "too_many_reactions")
    assert (await react(ann, "r0")).status_code == 200  # an existing name still counts up
    r = await client.delete(f"{CONVERSATIONS}/{chat['id']}/messages/{note['id']}", headers=ann.auth)
    assert r.status_code == 204
    r = await react(bob, "tada")
    assert (r.status_code, r.json()["code"]) == (409, "message_deleted")
    [tomb] = (await messages(client, bob, chat["id"]))["items"]
    assert tomb["reactions"] == []
    assert await fetch(database_url, "SELECT 1 FROM communication.message_reactions") == []


async def test_a_groups_admins_change_its_title(client: Client, database_url: str) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    group = await conversation(client, ann, org, bob, title="Team")
    direct = await conversation(client, ann, org, owner)
    url = f"{CONVERSATIONS}/{group['id']}"

    r = await client.patch(url, json={"title": "  Release team "}, headers=ann.auth)
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Release team"
    assert (await shown(client, bob, group["id"]))["title"] == "Release team"
    r = await client.patch(url, json={"title": None}, headers=ann.auth)
    assert r.status_code == 200, r.text
    assert r.json()["title"] is None

    for body, status, field in (
        ({"title": " \u00a0 "}, 422, "title"),
        ({"title": "a\u0000b"}, 422, "title"),
        ({"title": "x" * 201}, 422, "title"),
        ({}, 400, None),
        ({"title": 7}, 400, None),
    ):
        r = await client.patch(url, json=body, headers=ann.auth)
        assert r.status_code == status, (body, r.text)
        if field is not None:
            assert r.json()["errors"][0]["field"] == field
    r = await client.patch(url, json={"title": "Bob's"}, headers=bob.auth)
    assert r.status_code == 403
    assert r.json()["code"] == "not_conversation_admin"
    r = await client.patch(
        f"{CONVERSATIONS}/{direct['id']}", json={"title": "Us"}, headers=ann.auth
    )
    assert r.status_code == 409
    assert r.json()["code"] == "direct_conversation"
    r = await client.patch(url, json={"title": "Mine"}, headers=owner.auth)
    assert r.status_code == 404  # not a participant
    # None of the refused changes took.
    assert (await shown(client, ann, group["id"]))["title"] is None
