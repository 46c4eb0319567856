"""The ``hub`` command: run the hub, run workers, manage the database and the embedded servers."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import click

from hub.devservers import EmbeddedServerError, live_servers, stop_servers
from hub.devservers.process import file_lock
from hub.kernel import migrations
from hub.kernel.commands import CommandServices
from hub.kernel.runtime import Kernel
from hub.kernel.secrets_command import secrets_group
from hub.kernel.settings import Settings, SettingsError
from hub.kernel.wiring import assemble

#: How long a command waits for another one migrating the same embedded database.
MIGRATE_LOCK_TIMEOUT_S = 300.0


def _settings() -> Settings:
    try:
        from hub.app import load_settings

        settings = load_settings()
        settings.check_production_safety()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    return settings


@contextlib.contextmanager
def servers(
    settings: Settings, *, keep_running: bool = False, schema: bool = False
) -> Iterator[Settings]:
    """:func:`hub.devservers.live_servers` with its failures shown as CLI errors.

    ``schema``: the command uses the tables, so the schema must be at head first. The
    embedded database is migrated (as ``hub run`` does); a configured one is only
    checked, and a schema that is behind stops the command with one line naming
    ``hub db upgrade`` instead of a traceback from the first missing table.
    """
    try:
        with live_servers(settings, keep_running=keep_running) as live:
            if schema:
                # in a thread of its own: alembic calls asyncio.run, which a command already
                # inside asyncio.run (hub users …, via run_with_services) could not
                with ThreadPoolExecutor(max_workers=1) as pool:
                    embedded = settings.uses_embedded_postgres
                    pool.submit(_ready_schema, live, embedded=embedded).result()
            yield live
    except EmbeddedServerError as exc:
        raise click.ClickException(str(exc)) from None


def _context_names(settings: Settings) -> list[str]:
    """The contexts whose migrations this process applies or checks (HUB_CONTEXTS)."""
    from hub.app import context_modules

    return [m.name for m in context_modules() if settings.serves(m.name)]


def _migrate(settings: Settings, *, embedded: bool) -> None:
    """Upgrade every context to head. On the embedded database, one command at a time:
    ``hub run`` and a ``hub users …`` started beside it on a fresh data directory would
    otherwise both create the same tables."""
    assert settings.database_url is not None
    root = migrations.migrations_root(settings.migrations_dir)
    if not embedded:
        migrations.upgrade(_context_names(settings), settings.database_url, root)
        return
    lock = settings.data_dir.resolve() / ".migrate.lock"
    with file_lock(lock, MIGRATE_LOCK_TIMEOUT_S):
        migrations.upgrade(_context_names(settings), settings.database_url, root)


def _ready_schema(live: Settings, *, embedded: bool) -> None:
    if embedded:
        _migrate(live, embedded=True)
        return
    assert live.database_url is not None
    root = migrations.migrations_root(live.migrations_dir)
    behind = migrations.pending(_context_names(live), live.database_url, root)
    if behind:
        raise click.ClickException(
            f"the database schema is behind this hub ({'; '.join(behind)}): "
            "run `hub db upgrade` first"
        )


@contextlib.asynccontextmanager
async def _open_kernel() -> AsyncIterator[Kernel]:
    """Every context's services for one CLI command (embedded servers started if needed,
    shared with a running `hub run`)."""
    from hub.app import context_modules

    settings = _settings()
    # schema at head first: the command uses the tables (see ``servers``)
    with servers(settings, schema=True) as live:
        assert live.database_url is not None
        assert live.redis_url is not None
        kernel = Kernel(settings=live, database_url=live.database_url, redis_url=live.redis_url)
        try:
            from hub.packs.wiring import add_pack_engine

            assemble(kernel, context_modules())
            add_pack_engine(kernel.services)
            yield kernel
        finally:
            await kernel.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """Hub: identity, content, communication and workflow behind one REST API."""
    # The contexts' own commands (hub users, hub keys) get their services through
    # hub.kernel.commands.run_with_services, which finds this on the click context.
    if ctx.find_object(CommandServices) is None:
        ctx.obj = CommandServices(_open_kernel)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="TCP port.")
@click.option(
    "--worker/--no-worker",
    default=True,
    show_default=True,
    help="Run a background-job worker in this process.",
)
@click.option(
    "--migrate/--no-migrate",
    default=True,
    show_default=True,
    help="Apply pending migrations before serving.",
)
@click.option(
    "--contexts",
    default=None,
    help="Serve only these contexts, comma-separated (HUB_CONTEXTS); the others are "
    "called at HUB_REMOTE_<CONTEXT>_URL.",
)
def run(host: str, port: int, worker: bool, migrate: bool, contexts: str | None) -> None:
    """Start the hub (embedded PostgreSQL and Redis unless HUB_DATABASE_URL/HUB_REDIS_URL)."""
    import os

    import uvicorn

    from hub.app import create_app
    from hub.kernel.logging import configure_logging

    if contexts is not None:
        # Through the environment, so the settings check sees it like HUB_CONTEXTS.
        os.environ["HUB_CONTEXTS"] = contexts
    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    with servers(settings) as live:
        if migrate:
            _migrate(live, embedded=settings.uses_embedded_postgres)
        app = create_app(live, configure_logs=False)
        in_process = None
        if worker:
            from hub.app import context_modules
            from hub.worker import start_in_process

            # One in-process worker with the relay and the scheduler, so events and mail
            # are delivered with nothing else running.
            in_process = start_in_process(live, context_modules())
        base = f"http://{host}:{port}"
        click.echo(
            f"Hub is starting on {base}  (docs: {base}/api/docs, health: {base}/health)", err=True
        )
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=10,
        )
        # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into SystemExit so
        # the `finally` blocks below (worker, embedded servers) still run.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            uvicorn.Server(config).run()
        finally:
            if in_process is not None:
                in_process.stop()


@main.command()
@click.option(
    "--processes", type=int, default=None, help="Worker processes (HUB_WORKER_PROCESSES)."
)
@click.option("--threads", type=int, default=None, help="Threads per process (HUB_WORKER_THREADS).")
@click.option("--relay/--no-relay", default=True, show_default=True, help="Also relay outbox rows.")
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    show_default=True,
    help="Also take part in running periodic jobs (one leader cluster-wide).",
)
@click.option(
    "--contexts",
    default=None,
    help="Work only for these contexts, comma-separated (HUB_CONTEXTS): their jobs, event "
    "handlers, outboxes and periodic jobs.",
)
def worker(
    processes: int | None, threads: int | None, relay: bool, scheduler: bool, contexts: str | None
) -> None:
    """Run background-job workers, the outbox relay and the scheduler until interrupted."""
    import os

    from hub.app import context_modules
    from hub.kernel.logging import configure_logging
    from hub.worker import run_workers

    if contexts is not None:
        os.environ["HUB_CONTEXTS"] = contexts  # as `hub run --contexts` (worker processes too)
    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    with servers(settings, schema=True) as live:
        code = run_workers(
            live,
            context_modules(),
            processes=processes or live.worker_processes,
            threads=threads or live.worker_threads,
            relay=relay,
            scheduler=scheduler,
        )
    sys.exit(code)


@main.group()
def db() -> None:
    """Database migrations, one alembic history per context."""


@db.command("upgrade")
@click.option("--context", "only", default=None, help="Only this context.")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(only: str | None, revision: str) -> None:
    """Upgrade every context (dependency order) or one.

    A revision id applies to the context whose history holds it. A --revision the
    database is already past is refused (exit 1): upgrading cannot go back, `hub db
    downgrade` does.
    """
    from alembic.util.exc import CommandError

    if only is not None and only not in _context_names(_settings()):
        raise click.BadParameter(f"unknown context {only!r}", param_hint="--context")
    with servers(_settings()) as live:
        assert live.database_url is not None
        root = migrations.migrations_root(live.migrations_dir)
        names = [only] if only else _context_names(_settings())
        if only is None:
            # a revision id belongs to one context's history: upgrade that context only
            names = [n for n in names if migrations.knows(n, root, revision)] or names
        for name in names:
            at = migrations.past(name, live.database_url, root, revision)
            if at is not None:
                raise click.ClickException(
                    f"{name} is already at {at}, past {revision}: nothing to upgrade "
                    f"(to go back, run `hub db downgrade {name} {revision}`)"
                )
        try:
            migrations.upgrade(names, live.database_url, root, revision)
        except CommandError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo("upgraded: " + ", ".join(names))


# ignore_unknown_options: a relative REVISION such as -1 is an argument, not an option.
@db.command("downgrade", context_settings={"ignore_unknown_options": True})
@click.argument("context")
@click.argument("revision")
def db_downgrade(context: str, revision: str) -> None:
    """Downgrade one CONTEXT to REVISION (e.g. -1, base): `hub db downgrade workflow -1`."""
    if context not in _context_names(_settings()):
        raise click.BadParameter(f"unknown context {context!r}")
    with servers(_settings()) as live:
        assert live.database_url is not None
        root = migrations.migrations_root(live.migrations_dir)
        migrations.downgrade(context, live.database_url, root, revision)


@db.command("current")
def db_current() -> None:
    """Show the revision each context is at."""
    with servers(_settings()) as live:
        assert live.database_url is not None
        root = migrations.migrations_root(live.migrations_dir)
        for name in _context_names(_settings()):
            rev = migrations.current(name, live.database_url, root)
            click.echo(f"{name}: {rev or '(none)'}")


@db.command("check")
def db_check() -> None:
    """Fail when models and migrations drift (applies pending migrations first)."""
    with servers(_settings()) as live:
        assert live.database_url is not None
        root = migrations.migrations_root(live.migrations_dir)
        names = _context_names(_settings())
        migrations.upgrade(names, live.database_url, root)
        try:
            migrations.check(names, live.database_url, root)
        except migrations.MigrationDrift as exc:
            raise click.ClickException(str(exc)) from None
        click.echo("models and migrations agree: " + ", ".join(names))


@db.command("revision")
@click.argument("context")
@click.option("-m", "--message", required=True)
def db_revision(context: str, message: str) -> None:
    """Autogenerate a revision for CONTEXT from its models (review before committing)."""
    if context not in _context_names(_settings()):
        raise click.BadParameter(f"unknown context {context!r}")
    with servers(_settings()) as live:
        assert live.database_url is not None
        root = migrations.migrations_root(live.migrations_dir)
        migrations.upgrade([context], live.database_url, root)
        migrations.revision(context, live.database_url, root, message)


@main.group()
def embedded() -> None:
    """The development servers under HUB_DATA_DIR."""


@embedded.command("start")
def embedded_start() -> None:
    """Start (or find) the embedded PostgreSQL and Redis and print their URLs."""
    with servers(_settings(), keep_running=True) as live:
        click.echo(f"HUB_DATABASE_URL={live.database_url}")
        click.echo(f"HUB_REDIS_URL={live.redis_url}")


@embedded.command("stop")
def embedded_stop() -> None:
    """Stop the embedded servers (also ones orphaned by a killed run).

    Refused (exit 1) while a `hub run` owns them: it is using them and stops them itself.
    """
    data_dir = _settings().data_dir.resolve()
    try:
        stopped = stop_servers(data_dir)
    except EmbeddedServerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("stopped" if stopped else f"nothing to stop: no data directory {data_dir}")


@main.group()
def jobs() -> None:
    """Background jobs: dead letters, retries, queue depths and outbox lag."""


def _broker(settings: Settings) -> Any:
    from hub.kernel.queue import create_broker

    return create_broker(settings)


@jobs.command("failed")
@click.option("--queue", default=None, help="Only this queue.")
@click.option("--limit", default=50, show_default=True, type=int)
@click.option("--traceback", "show_tb", is_flag=True, help="Print each full traceback.")
def jobs_failed(queue: str | None, limit: int, show_tb: bool) -> None:
    """List dead-lettered jobs (retries exhausted), newest first, with their error."""
    from hub.kernel.deadletter import list_dead
    from hub.kernel.queue import close_broker

    with servers(_settings()) as live:
        broker = _broker(live)
        try:
            dead = list_dead(broker.client, broker.namespace, queue=queue, limit=limit)
        finally:
            close_broker(broker)
    if not dead:
        click.echo("no failed jobs")
        return
    for d in dead:
        click.echo(
            f"{d.message_id}  {d.failed_at:%Y-%m-%d %H:%M:%S}Z  {d.queue}/{d.actor}  "
            f"attempts={d.attempts}  {d.error}"
        )
        if show_tb and d.traceback:
            click.echo("    " + d.traceback.rstrip().replace("\n", "\n    "))


@jobs.command("retry")
@click.argument("ids", nargs=-1)
@click.option("--all", "retry_all", is_flag=True, help="Requeue every dead-lettered job.")
def jobs_retry(ids: tuple[str, ...], retry_all: bool) -> None:
    """Requeue dead-lettered jobs by message id (or id prefix), or --all."""
    from hub.kernel.deadletter import retry_dead
    from hub.kernel.queue import close_broker

    if bool(ids) == retry_all:
        raise click.UsageError("give message ids or --all (not both)")
    with servers(_settings()) as live:
        broker = _broker(live)
        try:
            retried = retry_dead(broker, None if retry_all else list(ids))
        finally:
            close_broker(broker)
    for d in retried:
        click.echo(f"requeued {d.message_id}  {d.queue}/{d.actor}")
    if not retried and retry_all:
        # an empty dead-letter queue is the good case, not an error
        click.echo("no failed jobs: nothing to retry")
        return
    if not retried:
        raise click.ClickException("no matching failed job")
    click.echo(f"{len(retried)} job(s) requeued")


@jobs.command("stats")
def jobs_stats() -> None:
    """Queue depths (ready, delayed for retry, running, dead) and outbox lag per context."""
    import asyncio

    from hub.kernel.db import Database
    from hub.kernel.deadletter import queue_stats
    from hub.kernel.queue import close_broker
    from hub.kernel.relay import OutboxStatus, outbox_status

    with servers(_settings(), schema=True) as live:
        assert live.database_url is not None
        broker = _broker(live)
        try:
            stats = queue_stats(broker.client, broker.namespace, ("default", "events", "mail"))
        finally:
            close_broker(broker)

        async def lags() -> list[OutboxStatus]:
            db = Database(live.database_url or "", pool_size=1, max_overflow=0)
            try:
                return [await outbox_status(db, name) for name in _context_names(_settings())]
            finally:
                await db.dispose()

        outboxes = asyncio.run(lags())
    click.echo(f"{'queue':<24}{'ready':>8}{'delayed':>9}{'running':>9}{'dead':>7}")
    for q in stats:
        click.echo(f"{q.queue:<24}{q.ready:>8}{q.delayed:>9}{q.in_flight:>9}{q.dead:>7}")
    click.echo(f"\n{'outbox':<24}{'pending':>8}{'lag (s)':>10}")
    for o in outboxes:
        click.echo(f"{o.schema:<24}{o.pending:>8}{o.lag_s:>10.1f}")


@main.group()
def mail() -> None:
    """The development mailbox (HUB_DATA_DIR/mail), used when HUB_SMTP_URL is unset."""


@mail.command("list")
@click.option("--to", default=None, help="Only mail to this address.")
def mail_list(to: str | None) -> None:
    """List stored mail, oldest first, each with the links in its text.

    When nothing matches, the reason goes to stderr (stdout stays empty for scripts).
    """
    from hub.kernel.mail import Mailbox, mailbox_dir

    directory = mailbox_dir(_settings())
    box = Mailbox(directory)
    mails = box.list(to=to)
    if not mails:
        others = len(box.list()) if to is not None else 0
        if others:
            click.echo(f"no mail to {to} ({others} other message(s) in {directory})", err=True)
        else:
            click.echo(f"no mail in {directory}", err=True)
        return
    for m in mails:
        click.echo(f"{m.id}  {m.sent_at:%Y-%m-%d %H:%M:%S}Z  {', '.join(m.to)}  {m.subject}")
        for link in m.links():
            click.echo(f"    {link}")


@mail.command("show")
@click.argument("mail_id")
@click.option("--html", "show_html", is_flag=True, help="Print the HTML part too.")
@click.option("--raw", "show_raw", is_flag=True, help="Print the message as sent (.eml).")
def mail_show(mail_id: str, show_html: bool, show_raw: bool) -> None:
    """Print one stored mail (MAIL_ID may be a unique prefix)."""
    from hub.kernel.mail import Mailbox, mailbox_dir

    box = Mailbox(mailbox_dir(_settings()))
    found = box.get(mail_id)
    if found is None:
        raise click.ClickException(f"no single mail matches {mail_id!r} (see `hub mail list`)")
    if show_raw:
        click.echo((box.raw(found.id) or b"").decode("utf-8", "replace"))
        return
    click.echo(f"Id:      {found.id}")
    click.echo(f"Date:    {found.sent_at:%Y-%m-%d %H:%M:%S}Z")
    click.echo(f"From:    {found.sender}")
    click.echo(f"To:      {', '.join(found.to)}")
    click.echo(f"Subject: {found.subject}")
    click.echo("")
    click.echo(found.text.rstrip())
    links = found.links()
    if links:
        click.echo("\nLinks:\n" + "\n".join(f"  {link}" for link in links))
    if show_html and found.html:
        click.echo("\n--- html ---\n" + found.html)


@main.command()
def demo() -> None:
    """Create the demo organisations, people (credentials printed), packs and sample
    documents of both stories on the embedded servers (or the configured ones); safe to
    run again. Refused in production: every demo account has the same known password."""
    import asyncio

    from litestar.testing import AsyncTestClient

    from hub.app import context_modules, create_app
    from hub.demo import STEPS, DemoResult, populate, provision, what_to_try
    from hub.kernel.logging import configure_logging
    from hub.packs.wiring import add_pack_engine

    settings = _settings()
    if settings.is_production:
        raise click.ClickException("hub demo is for development: HUB_ENV is production")
    # the progress bar and the summary, not a log line per request
    configure_logging("WARNING", settings.log_format)
    with servers(settings, schema=True) as live:
        assert live.database_url is not None
        assert live.redis_url is not None
        app = create_app(live, configure_logs=False)

        async def build(bar: Any) -> DemoResult:
            kernel = Kernel(live, live.database_url or "", live.redis_url or "")
            try:
                assemble(kernel, context_modules())
                add_pack_engine(kernel.services)
                result = await provision(kernel.services, lambda label: bar.update(1, label))
            finally:
                await kernel.close()
            async with AsyncTestClient(app=app, base_url=str(live.public_url)) as client:
                await populate(client, result)
            bar.update(1, "sample documents")
            return result

        with click.progressbar(
            length=STEPS, label="Preparing the demo", item_show_func=lambda s: s, file=sys.stderr
        ) as bar:
            result = asyncio.run(build(bar))
    click.echo(what_to_try(result, "http://127.0.0.1:8000"))


def _add_context_commands() -> None:
    from hub.app import context_modules
    from hub.packs.commands import COMMANDS as PACK_COMMANDS

    for module in context_modules():
        for command in module.cli_commands:
            main.add_command(command)
    for command in PACK_COMMANDS:
        main.add_command(command)
    main.add_command(secrets_group)


_add_context_commands()
