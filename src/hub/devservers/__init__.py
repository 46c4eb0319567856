"""Self-contained PostgreSQL and Redis for the development default of ``hub run``.

Both servers live under one data directory (``HUB_DATA_DIR``) and are driven directly,
without the wrappers shipped by their wheels: :mod:`~hub.devservers.postgres` and
:mod:`~hub.devservers.redis` start, find again and stop them; :mod:`~hub.devservers.process`
holds what both need to manage a daemonised child (pid files, liveness, signals, locks,
socket paths); :mod:`~hub.devservers.owner` decides which ``hub`` process stops them.

Servers are daemonised, so they outlive the process that started them, even when it is
SIGKILLed; the next start reuses a server that is verifiably ours and answers, or removes
the stale pid file, terminates any leftover process of that data directory (so there are
never two servers for one directory) and starts a fresh one.

This is a development convenience, not a production setup: local connections are trusted
and the socket directories are the only access control. It sits beside the kernel: it may
import ``hub.kernel`` (settings), but the kernel and the contexts never import it (an
import-linter contract); only the composition root (``hub.cli``, ``hub.app``,
``hub.worker``) and the tests use it.
"""

from hub.devservers.owner import ServersInUse, live_servers, owner_pid, ownership, stop_servers
from hub.devservers.postgres import EmbeddedPostgres
from hub.devservers.process import EmbeddedServerError
from hub.devservers.redis import EmbeddedRedis

__all__ = [
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "EmbeddedServerError",
    "ServersInUse",
    "live_servers",
    "owner_pid",
    "ownership",
    "stop_servers",
]
