"""How a ``hub`` subcommand reaches PostgreSQL and Redis without knowing who provides them.

The servers a command talks to are either configured (``HUB_DATABASE_URL`` /
``HUB_REDIS_URL``) or the development servers of ``hub.devservers``, which only the
composition root may import. So the ``hub`` command (``hub.cli``) puts a
:class:`ServerAccess` on click's context object, and a context's own commands (``hub
users …``, ``hub keys …``) open their servers through :func:`command_servers`: the same
servers, the same ownership rule and the same schema check as every other ``hub`` command.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import click

from hub.kernel.settings import Settings


@dataclass(frozen=True, slots=True)
class ServerAccess:
    """Opens live servers for a command: yields settings whose URLs are set.

    ``open`` also makes sure the database schema is at head (it migrates the embedded
    database, and refuses with a one-line message naming ``hub db upgrade`` when a
    configured one is behind), so the command can use every table.
    """

    open: Callable[[Settings], AbstractContextManager[Settings]]


def command_servers(settings: Settings) -> AbstractContextManager[Settings]:
    """Live servers for the running ``hub`` subcommand (see :class:`ServerAccess`)."""
    ctx = click.get_current_context(silent=True)
    access = ctx.find_object(ServerAccess) if ctx is not None else None
    if access is None:
        raise RuntimeError(
            "command_servers() needs the `hub` command's ServerAccess on the click context: "
            "invoke the command through hub.cli.main"
        )
    return access.open(settings)
