"""What a context hands the composition root: its routes, tables, permissions, order.

``hub.<ctx>.bootstrap.build()`` returns a :class:`ContextModule`; ``hub.app`` wires them
and ``hub.cli`` migrates them in dependency order. The kernel never imports a context:
contexts describe themselves with this structure instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData, Table

if TYPE_CHECKING:
    from hub.kernel.jobs import JobSpec
    from hub.kernel.loops import Loop
    from hub.kernel.remote.interface import Interface
    from hub.kernel.scheduler import Periodic
    from hub.kernel.subscribers import CatchAll, Subscription


@dataclass(frozen=True)
class ContextModule:
    name: str
    metadata: MetaData
    depends_on: tuple[str, ...] = ()
    route_handlers: Sequence[Any] = ()
    #: Handlers served at the site root rather than under /api/v1 (e.g. /.well-known/...).
    root_route_handlers: Sequence[Any] = ()
    permissions: Sequence[tuple[str, str]] = ()
    #: Builds the context's services once per process from its runtime:
    #: ``{"dependency_name": instance}``, injected into controllers (Litestar dependencies),
    #: jobs, start-up hooks and CLI commands by parameter name (``hub.kernel.wiring``).
    #: Called as ``services(runtime)``; keyword-only parameters receive other contexts'
    #: services by name (``*, identity_api: IdentityApi``).
    services: Callable[..., Mapping[str, Any]] | None = None
    #: The context's own typed settings (a msgspec Struct read from ``HUB_*``), if any.
    settings: type[Any] | None = None
    #: Extra Litestar dependency providers (name -> Provide) beyond its services.
    dependencies: dict[str, Any] = field(default_factory=dict)
    #: click commands/groups added to the ``hub`` command (from the context's ``cli`` module).
    cli_commands: Sequence[Any] = ()
    #: Called once the kernel is up; keyword-only parameters receive services by name.
    on_startup: Sequence[Callable[..., Awaitable[None]]] = ()
    on_shutdown: Sequence[Callable[..., Awaitable[None]]] = ()
    #: Integration events this context consumes: ``Subscription(Event, handler)``.
    subscriptions: Sequence[Subscription] = ()
    #: Consumers of every context's events, as envelopes: ``CatchAll(name, handler)``.
    catch_all: Sequence[CatchAll] = ()
    #: Background jobs (``hub.kernel.jobs.job``) its services queue with ``queue_job``.
    jobs: Sequence[JobSpec] = ()
    #: Recurring jobs (cron) the scheduler runs.
    periodic: Sequence[Periodic] = ()
    #: Long-running loops every worker process with a scheduler runs (``hub.kernel.loops``).
    loops: Sequence[Loop] = ()
    #: Its public Protocols (``hub.kernel.remote.interface.describe``): served under
    #: ``/internal/v1/<name>`` where the context runs, called through a remote adapter of
    #: the same Protocol (wired under the same dependency name) where it does not.
    interfaces: Sequence[Interface] = ()
    #: Where the context does not run: plugs its remote interfaces into the kernel's
    #: extension points it fills in process (keyword-only parameters by dependency name,
    #: called with the :class:`~hub.kernel.runtime.Kernel`).
    on_remote: Callable[..., None] | None = None
    #: The dependency name of its :class:`~hub.kernel.personal_data.PersonalDataApi`
    #: (also one of its ``interfaces``, so the export reaches it remotely too): what it
    #: holds about a person, for ``GET /auth/me/export``.
    personal_data: str | None = None
    #: The dependency name of its :class:`~hub.kernel.secret_rotation.SecretKeeper`: the
    #: values it keeps sealed under ``HUB_SECRET_KEY``, for ``hub secrets rotate|status``.
    secrets: str | None = None

    @property
    def schema(self) -> str:
        assert self.metadata.schema is not None
        return self.metadata.schema

    @property
    def outbox(self) -> Table:
        """The context's outbox (``hub.kernel.outbox.outbox_table`` in its metadata)."""
        return self.metadata.tables[f"{self.schema}.outbox"]


def dependency_order(modules: Sequence[ContextModule]) -> list[ContextModule]:
    """Topological order (a context after everything it depends on); refuses cycles."""
    by_name = {m.name: m for m in modules}
    ordered: list[ContextModule] = []
    state: dict[str, str] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ValueError("context dependency cycle: " + " -> ".join((*trail, name)))
        if name not in by_name:
            raise ValueError(f"unknown context {name!r} (needed by {trail[-1] if trail else '?'})")
        state[name] = "visiting"
        for dep in by_name[name].depends_on:
            visit(dep, (*trail, name))
        state[name] = "done"
        ordered.append(by_name[name])

    for module in modules:
        visit(module.name, ())
    return ordered
