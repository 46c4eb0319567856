"""Message send → stream latency through a real hub process.

``python -m bench.messages [--messages 200] [--warmup 20] [--attachments]``

The hub runs as in production (``uvicorn --factory hub.app:create_app``, one worker,
production settings; backends as in :mod:`bench.content_hub`: the machine's PostgreSQL and
Redis when they answer, else embedded ones). Two people of one organisation (an owner and
an invited member) share a direct conversation; the member holds an open ``GET /stream``
(server-sent events, after ``POST /stream/ticket``). The owner then sends the messages one
after another; for each, the time from just before ``POST /conversations/{id}/messages``
is written until the member's stream delivers its ``message.created`` event (matched by
message id) is one sample. Also reported: the POST's own round trip, so the part the push
adds after the response is visible. With ``--attachments`` each message attaches one
document the member may read (content is asked per reader before the push).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from typing import Any

import httpx

from bench.content_hub import API, content_hub, prepare, refresh_tokens, stream_upload


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def _measure(
    base_url: str,
    owner: Any,
    member: Any,
    organisation_id: str,
    *,
    messages: int,
    warmup: int,
    attachment: str | None,
) -> dict[str, list[float]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        r = await client.post(
            f"{API}/conversations",
            json={"organisationId": organisation_id, "participantIds": [member.user_id]},
            headers=owner.auth,
        )
        r.raise_for_status()
        conversation = r.json()["id"]
        r = await client.post(f"{API}/stream/ticket", headers=member.auth)
        r.raise_for_status()
        ticket = r.json()["ticket"]
        arrived: dict[str, float] = {}
        waiting: dict[str, asyncio.Event] = {}
        ready = asyncio.Event()

        async def listen() -> None:
            async with client.stream(
                "GET", f"{API}/stream", params={"ticket": ticket}, timeout=None
            ) as stream:
                event = None
                async for line in stream.aiter_lines():
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                        if event == "ready":
                            ready.set()
                    elif line.startswith("data: ") and event == "message.created":
                        at = time.perf_counter()
                        message_id = json.loads(line.removeprefix("data: "))["message"]["id"]
                        arrived[message_id] = at
                        waiting.setdefault(message_id, asyncio.Event()).set()

        listener = asyncio.create_task(listen())
        await asyncio.wait_for(ready.wait(), 30)
        body: dict[str, Any] = {"attachments": [attachment]} if attachment else {}
        push: list[float] = []
        post: list[float] = []
        try:
            for n in range(warmup + messages):
                started = time.perf_counter()
                r = await client.post(
                    f"{API}/conversations/{conversation}/messages",
                    json={"body": f"message {n}", **body},
                    headers=owner.auth,
                )
                answered = time.perf_counter()
                if r.status_code != 201:
                    raise SystemExit(f"send answered {r.status_code}: {r.text[:300]}")
                message_id = r.json()["id"]
                await asyncio.wait_for(waiting.setdefault(message_id, asyncio.Event()).wait(), 30)
                if n >= warmup:
                    push.append((arrived[message_id] - started) * 1000)
                    post.append((answered - started) * 1000)
        finally:
            listener.cancel()
        return {"push": push, "post": post}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--attachments", action="store_true")
    parser.add_argument("--backends", choices=("auto", "local", "embedded"), default="auto")
    args = parser.parse_args(argv)
    with content_hub(prefer=args.backends, redis_db=7) as ctx:
        print(f"backends: {ctx.backends.description}")
        prepare(ctx)
        with ctx.server() as hub:
            refresh_tokens(ctx, hub)
            assert ctx.owner is not None
            assert ctx.member is not None
            attachment = None
            if args.attachments:
                attachment = stream_upload(hub, ctx.owner, ctx.organisation_id, 4096)["id"]
            samples = asyncio.run(
                _measure(
                    hub.base_url,
                    ctx.owner,
                    ctx.member,
                    ctx.organisation_id,
                    messages=args.messages,
                    warmup=args.warmup,
                    attachment=attachment,
                )
            )
    print(
        f"{args.messages} messages{' with one attachment each' if args.attachments else ''}, "
        "one at a time, after a warm-up of " + str(args.warmup)
    )
    print(f"{'':26}{'median':>10}{'p95':>10}{'max':>10}  (ms)")
    for name, label in (("push", "send -> stream event"), ("post", "send round trip (201)")):
        values = samples[name]
        print(
            f"{label:26}{statistics.median(values):10.2f}{_percentile(values, 0.95):10.2f}"
            f"{max(values):10.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
