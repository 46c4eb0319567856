"""What ``hub jobs failed|retry|stats`` read and change in Redis.

dramatiq's Redis broker keeps, per queue ``q`` under the namespace ``hub``: the ready list
``hub:q``, every message not yet acked in ``hub:q.msgs``, delayed messages (retries
waiting for their backoff) in ``hub:q.DQ.msgs`` and dead letters in the sorted set
``hub:q.XQ`` (scored by when they died) with their data in ``hub:q.XQ.msgs``. A retried
dead letter is enqueued again as a fresh message with its retry count reset, then removed
from the dead-letter queue; if that removal fails it may run twice, which idempotent jobs
tolerate and which is better than losing it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import cast

import msgspec
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from redis import Redis

from hub.kernel.queue import DeadError, dead_error_key

_DROP_ON_RETRY = ("redis_message_id", "eta", "retries", "traceback", "requeue_timestamp")


class DeadLetter(msgspec.Struct, kw_only=True, frozen=True):
    redis_id: str
    message_id: str
    queue: str
    actor: str
    failed_at: datetime
    #: Runs before it died (1: failed for good at once, e.g. a permanent error).
    attempts: int
    error: str
    traceback: str | None
    args: list[object]
    correlation_id: str | None


class QueueStats(msgspec.Struct, kw_only=True, frozen=True):
    queue: str
    ready: int
    delayed: int
    in_flight: int
    dead: int


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def dead_queues(client: Redis, namespace: str) -> list[str]:
    prefix = f"{namespace}:"
    queues = {
        _text(key)[len(prefix) : -len(".XQ")]
        for key in client.scan_iter(match=f"{prefix}*.XQ", count=500)
    }
    return sorted(queues)


def list_dead(
    client: Redis, namespace: str, *, queue: str | None = None, limit: int = 100
) -> list[DeadLetter]:
    """Dead letters, most recent first."""
    out: list[DeadLetter] = []
    for name in [queue] if queue else dead_queues(client, namespace):
        key = f"{namespace}:{name}.XQ"
        entries = cast(
            list[tuple[bytes, float]], client.zrevrange(key, 0, limit - 1, withscores=True)
        )
        if not entries:
            continue
        ids = [_text(member) for member, _ in entries]
        datas = cast(list[bytes | None], client.hmget(f"{key}.msgs", ids))
        errors = cast(list[bytes | None], client.mget([dead_error_key(i, namespace) for i in ids]))
        for redis_id, (_, score), data, error in zip(ids, entries, datas, errors, strict=True):
            if data is None:
                continue
            message = Message.decode(data)
            record = msgspec.json.decode(error, type=DeadError) if error else None
            fallback = str(message.options.get("traceback") or "").strip().splitlines()
            out.append(
                DeadLetter(
                    redis_id=redis_id,
                    message_id=message.message_id,
                    queue=name,
                    actor=message.actor_name,
                    failed_at=datetime.fromtimestamp(float(score) / 1000, UTC),
                    attempts=record.attempts
                    if record
                    else int(message.options.get("retries", 0)) + 1,
                    error=record.error
                    if record
                    else (fallback[-1] if fallback else "(no error recorded)"),
                    traceback=record.traceback if record else message.options.get("traceback"),
                    args=list(message.args),
                    correlation_id=message.options.get("hub_correlation_id"),
                )
            )
    out.sort(key=lambda d: d.failed_at, reverse=True)
    return out[:limit]


def retry_dead(broker: RedisBroker, ids: Iterable[str] | None = None) -> list[DeadLetter]:
    """Requeue dead letters (all when ``ids`` is None; an id may be a message-id prefix)."""
    client: Redis = broker.client
    namespace = broker.namespace
    wanted = None if ids is None else [i.strip().lower() for i in ids if i.strip()]
    retried: list[DeadLetter] = []
    for dead in list_dead(client, namespace, limit=1_000_000):
        if wanted is not None and not any(
            dead.message_id.startswith(w) or dead.redis_id.startswith(w) for w in wanted
        ):
            continue
        key = f"{namespace}:{dead.queue}.XQ"
        data = cast(bytes | None, client.hget(f"{key}.msgs", dead.redis_id))
        if data is None:
            continue  # retried meanwhile by someone else
        message = Message.decode(data)
        options = {k: v for k, v in message.options.items() if k not in _DROP_ON_RETRY}
        fresh: Message[object] = Message(
            queue_name=dead.queue,
            actor_name=message.actor_name,
            args=message.args,
            kwargs=message.kwargs,
            options=options,
            message_id=message.message_id,
            message_timestamp=message.message_timestamp,
        )
        broker.enqueue(fresh)
        pipe = client.pipeline(transaction=True)
        pipe.zrem(key, dead.redis_id)
        pipe.hdel(f"{key}.msgs", dead.redis_id)
        pipe.delete(dead_error_key(dead.redis_id, namespace))
        pipe.execute()
        retried.append(dead)
    return retried


def queue_stats(client: Redis, namespace: str, known: Iterable[str] = ()) -> list[QueueStats]:
    prefix = f"{namespace}:"
    names = set(known)
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        name = _text(key)[len(prefix) :]
        if name.startswith("__") or name.startswith("dead-error:") or ":" in name:
            continue
        for suffix in (".DQ.msgs", ".XQ.msgs", ".msgs", ".XQ", ".DQ"):
            if name.endswith(suffix):
                name = name[: -len(suffix)]
                break
        names.add(name)
    stats: list[QueueStats] = []
    for name in sorted(names):
        base = f"{prefix}{name}"
        pipe = client.pipeline(transaction=False)
        pipe.llen(base)
        pipe.hlen(f"{base}.msgs")
        pipe.hlen(f"{base}.DQ.msgs")
        pipe.zcard(f"{base}.XQ")
        ready, total, delayed, dead = (int(v) for v in pipe.execute())
        stats.append(
            QueueStats(
                queue=name,
                ready=ready,
                delayed=delayed,
                in_flight=max(0, total - ready),
                dead=dead,
            )
        )
    return stats
