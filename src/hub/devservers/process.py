"""Child processes of the development servers: pid files, liveness, signals, locks, sockets.

Shared by :mod:`hub.devservers.postgres` and :mod:`hub.devservers.redis`, which daemonise
their servers so they outlive the ``hub`` process that started them. Every later start or
stop therefore has to find a server again from its pid file, make sure the pid really is
that server (psutil: process name and command line), and terminate leftovers, all under an
inter-process ``fcntl.flock`` so two ``hub`` processes never race each other.

Socket paths. A Unix socket path is limited to 107 bytes; when the data directory is too
deep, the socket goes to a private directory ``/tmp/hub-pg-<hash>`` /
``/tmp/hub-redis-<hash>`` (mode 700, ownership checked).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import signal
import socket
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Final

import psutil

logger = logging.getLogger("hub.devservers")

_SOCKET_PATH_MAX: Final = 107  # sizeof(sockaddr_un.sun_path) - 1 on Linux
_LOG_ROTATE_BYTES: Final = 10 * 1024 * 1024


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started or stopped."""


@contextlib.contextmanager
def file_lock(path: Path, timeout: float) -> Iterator[None]:
    """Exclusive inter-process lock (``flock``), released when the block exits."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise EmbeddedServerError(
                        f"timed out after {timeout:.0f}s waiting for lock {path}"
                    ) from None
                if not waited:
                    logger.info("waiting for lock %s held by another process", path)
                    waited = True
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def socket_dir_for(preferred: Path, socket_name: str, fallback_prefix: str) -> Path:
    """``preferred`` when ``preferred/socket_name`` fits in sun_path, else a /tmp dir."""
    if len(os.fsencode(preferred / socket_name)) <= _SOCKET_PATH_MAX:
        return preferred
    digest = hashlib.sha256(os.fsencode(preferred)).hexdigest()[:16]
    return Path("/tmp") / f"{fallback_prefix}-{digest}"  # noqa: S108 - private, checked


def ensure_private_dir(path: Path, uid: int, gid: int) -> None:
    """Create ``path`` (mode 700, owned by uid) or check that an existing one is safe."""
    try:
        path.mkdir(mode=0o700)
        if os.geteuid() == 0 and uid != 0:
            os.chown(path, uid, gid)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid:
        raise EmbeddedServerError(
            f"{path} exists but is not a directory owned by uid {uid}; remove it"
        )
    if stat.S_IMODE(st.st_mode) != 0o700:
        path.chmod(0o700)


def tail(path: Path, max_lines: int = 40) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 16384))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(data.splitlines()[-max_lines:])


def rotate_log(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.stat().st_size > _LOG_ROTATE_BYTES:
            path.replace(path.with_name(path.name + ".1"))


def is_alive(proc: Any) -> bool:
    """Running and not a zombie (an orphan's zombie may linger if init does not reap)."""
    try:
        return bool(proc.is_running()) and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return True


def wait_gone(procs: list[Any], timeout: float) -> list[Any]:
    """Wait until the processes are gone; return those still alive."""
    deadline = time.monotonic() + timeout
    alive = [p for p in procs if is_alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if is_alive(p)]
    return alive


def signal_all(procs: Iterable[Any], sig: int) -> None:
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess):
            proc.send_signal(sig)


def terminate(procs: list[Any], what: str, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL whatever is left."""
    if not procs:
        return
    logger.warning("terminating leftover %s processes: %s", what, [p.pid for p in procs])
    signal_all(procs, signal.SIGTERM)
    alive = wait_gone(procs, grace)
    if alive:
        signal_all(alive, signal.SIGKILL)
        alive = wait_gone(alive, 5.0)
    if alive:
        raise EmbeddedServerError(f"cannot kill {what} processes {[p.pid for p in alive]}")


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().split()
        return int(text[0]) if text else None
    except (OSError, ValueError):
        return None


def live_process(pid: int) -> Any | None:
    try:
        proc = psutil.Process(pid)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return proc if is_alive(proc) else None


def cmdline(proc: Any) -> list[str]:
    try:
        return list(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return []


def unix_socket_answers(path: Path, timeout: float = 1.0) -> bool:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(os.fsdecode(path))
    except OSError:
        return False
    finally:
        sock.close()
    return True
