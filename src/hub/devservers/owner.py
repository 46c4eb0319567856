"""Who owns the embedded servers of a data directory, and so who stops them.

Every ``hub`` command that needs PostgreSQL or Redis without ``HUB_DATABASE_URL`` /
``HUB_REDIS_URL`` goes through :func:`live_servers`, so they agree: the first process
(normally ``hub run``) takes an exclusive lock on ``<data_dir>/.owner.lock`` for its
lifetime and stops the servers when it exits; a command started beside it (``hub db …``,
``hub users …``) reuses the servers and leaves them running; ``hub embedded stop``
(:func:`stop_servers`) refuses while an owner holds them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import msgspec

from hub.devservers.postgres import EmbeddedPostgres
from hub.devservers.process import EmbeddedServerError
from hub.devservers.redis import EmbeddedRedis
from hub.kernel.settings import Settings

OWNER_LOCK = ".owner.lock"


class ServersInUse(EmbeddedServerError):
    """Another process owns the embedded servers (``hub run``); they must not be stopped."""

    def __init__(self, data_dir: Path, pid: int | None) -> None:
        holder = f"process {pid}" if pid else "another process"
        super().__init__(
            f"the embedded servers of {data_dir} are in use by {holder} (a running `hub "
            "run` or another hub command); stop it first: it stops them when it exits"
        )
        self.pid = pid


@contextlib.contextmanager
def ownership(data_dir: Path) -> Iterator[bool]:
    """Whether this process owns the embedded servers of ``data_dir``.

    The owner holds an exclusive ``flock`` for its lifetime; the kernel drops it when the
    process dies, even by SIGKILL. So a new ``hub run`` adopts (and will stop) servers
    orphaned by a killed run, while a ``hub db …`` next to a live ``hub run`` reuses its
    servers and leaves them running. The owner writes its pid into the lock file so a
    refusal can name it (:func:`owner_pid`).
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
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def owner_pid(data_dir: Path) -> int | None:
    """The pid the current (or last) owner wrote, when readable; only a hint for messages."""
    try:
        return int((data_dir / OWNER_LOCK).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


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


def stop_servers(data_dir: Path) -> bool:
    """Stop the embedded servers of ``data_dir`` (orphans of a killed run included).

    Raises :class:`ServersInUse` while an owner holds them: stopping the servers under a
    live ``hub run`` would break it, and it stops them itself on exit. Returns False when
    there is no data directory (nothing to stop).
    """
    data_dir = data_dir.resolve()
    if not data_dir.is_dir():
        return False
    with ownership(data_dir) as owner:
        if not owner:
            raise ServersInUse(data_dir, owner_pid(data_dir))
        EmbeddedRedis(data_dir).stop()
        EmbeddedPostgres(data_dir).stop()
    return True
