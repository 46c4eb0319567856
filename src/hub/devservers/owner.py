"""Who owns the embedded servers of a data directory, and so who stops them.

Every ``hub`` command that needs PostgreSQL or Redis without ``HUB_DATABASE_URL`` /
``HUB_REDIS_URL`` goes through :func:`live_servers`, so they agree: the first process
(normally ``hub run``) takes an exclusive lock on ``<data_dir>/.owner.lock`` for its
lifetime and stops the servers when it exits; a command started beside it (``hub db …``,
``hub users …``) reuses the servers and leaves them running.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import msgspec

from hub.devservers.postgres import EmbeddedPostgres
from hub.devservers.redis import EmbeddedRedis
from hub.kernel.settings import Settings

OWNER_LOCK = ".owner.lock"


@contextlib.contextmanager
def ownership(data_dir: Path) -> Iterator[bool]:
    """Whether this process owns the embedded servers of ``data_dir``.

    The owner holds an exclusive ``flock`` for its lifetime; the kernel drops it when the
    process dies, even by SIGKILL. So a new ``hub run`` adopts (and will stop) servers
    orphaned by a killed run, while a ``hub db …`` next to a live ``hub run`` reuses its
    servers and leaves them running.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / OWNER_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
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
    :class:`~hub.devservers.process.EmbeddedServerError` when one cannot start.
    """
    if not (settings.uses_embedded_postgres or settings.uses_embedded_redis):
        yield settings
        return
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
