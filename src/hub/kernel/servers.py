"""The database and Redis a ``hub`` process talks to: configured, or embedded.

Used by every command-line entry point (``hub run``, ``hub db …``, ``hub keys …``) so
they agree on who owns the embedded servers and when they stop.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import msgspec

from hub.kernel.settings import Settings


@contextlib.contextmanager
def ownership(data_dir: Path) -> Iterator[bool]:
    """Whether this process owns the embedded servers of ``data_dir``.

    The owner holds an exclusive ``flock`` for its lifetime; the kernel drops it when the
    process dies, even by SIGKILL. So a new ``hub run`` adopts (and will stop) servers
    orphaned by a killed run, while a ``hub db …`` next to a live ``hub run`` reuses its
    servers and leaves them running.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / ".owner.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def live_servers(settings: Settings, *, keep_running: bool = False) -> Iterator[Settings]:
    """Yield settings whose URLs point at real servers, starting embedded ones when unset.

    Embedded servers are stopped on exit when this process owns them (see
    :func:`ownership`) unless ``keep_running``. Raises
    :class:`hub.kernel.embedded.EmbeddedServerError` when one cannot start.
    """
    if not (settings.uses_embedded_postgres or settings.uses_embedded_redis):
        yield settings
        return
    from hub.kernel.embedded import EmbeddedPostgres, EmbeddedRedis

    data_dir = settings.data_dir.resolve()
    with ownership(data_dir) as owner:
        started: list[EmbeddedPostgres | EmbeddedRedis] = []
        updates: dict[str, object] = {}
        try:
            if settings.uses_embedded_postgres:
                pg = EmbeddedPostgres(data_dir)
                started.append(pg)
                updates["database_url"] = pg.start()
            if settings.uses_embedded_redis:
                rd = EmbeddedRedis(data_dir)
                started.append(rd)
                updates["redis_url"] = rd.start()
            yield msgspec.structs.replace(settings, **updates)
        finally:
            if owner and not keep_running:
                for server in reversed(started):
                    server.stop()
