"""A small server-sent-events reader for the stream tests: events with their id, event name
and JSON data, and comment lines (heartbeats)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Event:
    event: str | None = None
    id: str | None = None
    data_lines: list[str] = field(default_factory=list)
    #: Set for a comment line (``: ping``) instead of an event.
    comment: str | None = None

    @property
    def data(self) -> Any:
        return json.loads("\n".join(self.data_lines))


class Reader:
    def __init__(self, response: httpx.Response) -> None:
        self._items = self._parse(response.aiter_lines())

    @staticmethod
    async def _parse(lines: AsyncIterator[str]) -> AsyncIterator[Event]:
        current = Event()
        async for line in lines:
            if line.startswith(":"):
                yield Event(comment=line[1:].strip())
            elif not line:
                if current.event is not None or current.data_lines:
                    yield current
                current = Event()
            else:
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "event":
                    current.event = value
                elif name == "id":
                    current.id = value
                elif name == "data":
                    current.data_lines.append(value)

    async def next(self, *, comments: bool = False, timeout: float = 20) -> Event | None:
        """The next event (or comment when ``comments``); None when the stream ended."""

        async def read() -> Event | None:
            async for item in self._items:
                if item.comment is None or comments:
                    return item
            return None

        return await asyncio.wait_for(read(), timeout)

    async def until(self, name: str, *, timeout: float = 20) -> Event:
        """The next event called ``name`` (others skipped)."""
        while True:
            item = await self.next(timeout=timeout)
            assert item is not None, f"the stream ended before a {name!r} event"
            if item.event == name:
                return item

    async def events(self, count: int, *, timeout: float = 20) -> list[Event]:
        found: list[Event] = []
        for _ in range(count):
            item = await self.next(timeout=timeout)
            assert item is not None, f"the stream ended after {found!r}"
            found.append(item)
        return found
