"""The per-person event buffer behind ``GET /stream``: a capped Redis Stream per user.

Publishing (one Lua script per batch, so it is atomic and one round trip) appends each
event to the user's Redis Stream ``hub:stream:events:<user>`` (``XADD … MAXLEN ~``, the key
expiring ``replay_s`` after its last event) and publishes the same entry, prefixed by its
stream id, on the user's pub/sub channel. The stream id (``<ms>-<seq>``) is the SSE
``id``: ordered, unique per user, and what ``Last-Event-ID`` names on a reconnect.

**The unread count on every event is the value, and the last one received is right.**
Each publisher takes a ticket from one Redis counter *after* its database commit and
*before* counting; the script keeps, per user, the count of the highest ticket seen and
stamps every event with it (a slower publisher holding an older count gets the newer
one). The highest ticket's count was taken after every other publisher's commit, so once
publishing settles the user's last event carries the count of every committed change,
whatever order concurrent publishers reach Redis in.

**Resuming** (``resume``, also one script): given the id a client last saw, either the
events after it (``XRANGE (id +``) or, when some may be gone (trimmed past ``MAXLEN``: the
id is older than the oldest entry kept and entries were removed; or the whole key expired
and was perhaps re-created: the id is older than ``replay_s``), a ``reset``: the client
refetches. It also
answers the *position*: the id every later event will exceed, which the reader sends on
``ready`` and uses to drop live messages it already sent from the backlog.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

_EVENTS_PREFIX = "hub:stream:events:"
_COUNT_PREFIX = "hub:stream:count:"
_CHANNEL_PREFIX = "hub:stream:user:"
_TICKETS = "hub:stream:seq"
#: A stream id (``<milliseconds>-<sequence>``), small enough for Lua's numbers.
_EVENT_ID = re.compile(r"[0-9]{1,15}-[0-9]{1,15}")
#: Events kept per user (approximately: ``MAXLEN ~`` trims whole radix-tree nodes).
MAX_EVENTS = 200

_PUBLISH = """
local token = tonumber(ARGV[1])
local maxlen = ARGV[2]
local ttl = tonumber(ARGV[3])
for i = 1, #KEYS / 2 do
  local stream, state = KEYS[2 * i - 1], KEYS[2 * i]
  local base = 3 + (i - 1) * 4
  local channel, event, count, body = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4]
  local seen = redis.call('HMGET', state, 't', 'c')
  if seen[1] and tonumber(seen[1]) > token then
    count = seen[2]
  else
    redis.call('HSET', state, 't', token, 'c', count)
  end
  redis.call('PEXPIRE', state, ttl)
  local id = redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*',
                        'e', event, 'c', count, 'b', body)
  redis.call('HINCRBY', state, 'n', 1)
  redis.call('PEXPIRE', stream, ttl)
  redis.call('PUBLISH', channel, id .. '\\n' .. event .. '\\n' .. count .. '\\n' .. body)
end
return #KEYS / 2
"""

_RESUME = """
local key, last, ttl, limit = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function before(a, b)
  local ams, aseq = parse(a)
  local bms, bseq = parse(b)
  return ams < bms or (ams == bms and aseq < bseq)
end
local exists = redis.call('EXISTS', key) == 1
local position = (now - 1) .. '-0'
local removed = false
local first = '0-0'
if exists then
  local info = redis.call('XINFO', 'STREAM', key)
  local length = 0
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then position = info[i + 1] end
    if info[i] == 'length' then length = tonumber(info[i + 1]) end
  end
  -- entries ever added, counted by the publish script (XINFO's own entries-added is
  -- Redis 7 only; the embedded development Redis is 6.2)
  local added = redis.call('HGET', KEYS[2], 'n')
  removed = (added and tonumber(added) or 0) > length
  local head = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)
  if #head > 0 then first = head[1][1] end
end
if last == '' then return {'fresh', position, {}} end
local last_ms = parse(last)
local recent = last_ms > now - ttl
if not exists then
  if recent then return {'ok', position, {}} end
  return {'reset', position, {}}
end
local present = #redis.call('XRANGE', key, last, last) > 0
-- trimming removes the oldest entries only: none after `last` is gone when nothing was
-- ever removed or `last` is not older than the oldest entry kept
if present or (recent and (not removed or not before(last, first))) then
  return {'ok', position, redis.call('XRANGE', key, '(' .. last, '+', 'COUNT', limit)}
end
return {'reset', position, {}}
"""


def channel_of(user_id: uuid.UUID) -> str:
    return f"{_CHANNEL_PREFIX}{user_id}"


def _events_key(user_id: uuid.UUID) -> str:
    return f"{_EVENTS_PREFIX}{user_id}"


@dataclass(frozen=True)
class BufferedEvent:
    """One event of a user's stream: ``body`` is a JSON object's text without the count."""

    id: str
    event: str
    unread_count: int
    body: str

    def data(self) -> str:
        """The SSE ``data``: the body with ``unreadCount`` first."""
        rest = self.body.strip()[1:].lstrip()
        sep = "" if rest.startswith("}") else ","
        return f'{{"unreadCount":{self.unread_count}{sep}{rest}'

    @classmethod
    def parse_message(cls, raw: bytes | str) -> BufferedEvent:
        """A pub/sub message as the publish script writes it (``id\\nevent\\ncount\\nbody``)."""
        text = raw.decode() if isinstance(raw, bytes) else raw
        event_id, event, count, body = text.split("\n", 3)
        return cls(id=event_id, event=event, unread_count=int(count), body=body)


@dataclass(frozen=True)
class Resumed:
    #: "fresh" (no id given), "ok" (``backlog`` is everything missed) or "reset".
    status: str
    #: Every later event's id exceeds this one.
    position: str
    backlog: list[BufferedEvent]


def id_key(event_id: str) -> tuple[int, int]:
    """A stream id as a sortable pair (``"1700000000000-3"`` -> ``(1700000000000, 3)``)."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class StreamBuffer:
    def __init__(self, redis: Redis, *, replay_s: float = 600.0) -> None:
        self.redis = redis
        self.replay_ms = int(replay_s * 1000)
        self._publish = redis.register_script(_PUBLISH)
        self._resume = redis.register_script(_RESUME)

    async def ticket(self) -> int:
        """A publisher's place in line, taken after its commit and before it counts."""
        return int(await self.redis.incr(_TICKETS))

    async def append(self, ticket: int, events: Sequence[tuple[uuid.UUID, str, int, str]]) -> None:
        """``(user, event, unread count, body JSON)`` each, in one atomic round trip."""
        keys: list[str] = []
        args: list[str | int] = [ticket, MAX_EVENTS, self.replay_ms]
        for user_id, event, count, body in events:
            keys += [_events_key(user_id), f"{_COUNT_PREFIX}{user_id}"]
            args += [channel_of(user_id), event, count, body]
        if keys:
            await self._publish(keys=keys, args=args)

    async def resume(self, user_id: uuid.UUID, last_event_id: str | None) -> Resumed:
        """What a client that last saw ``last_event_id`` missed (None: a fresh start; an
        id this buffer cannot have issued: ``reset``)."""
        issued = last_event_id is None or _EVENT_ID.fullmatch(last_event_id) is not None
        status, position, entries = await self._resume(
            keys=[_events_key(user_id), f"{_COUNT_PREFIX}{user_id}"],
            args=[last_event_id if issued and last_event_id else "", self.replay_ms, MAX_EVENTS],
        )
        if not issued:
            return Resumed(status="reset", position=_text(position), backlog=[])
        backlog = []
        for raw_id, fields in entries:
            values = {_text(k): _text(v) for k, v in zip(fields[::2], fields[1::2], strict=True)}
            backlog.append(
                BufferedEvent(
                    id=_text(raw_id),
                    event=values["e"],
                    unread_count=int(values["c"]),
                    body=values["b"],
                )
            )
        return Resumed(status=_text(status), position=_text(position), backlog=backlog)
