"""Wires the example context: its services, built once from its runtime, and the rest."""

from hub.kernel.contexts import ContextModule
from hub.kernel.subscribers import Subscription
from tests.kit_example import api, cli, controllers, handlers, models, services, tasks


def build() -> ContextModule:
    return ContextModule(
        name="example",
        metadata=models.Base.metadata,
        depends_on=("identity",),
        services=lambda rt: {"notes": services.NoteService(rt.store, rt.queue_job)},
        route_handlers=[controllers.NoteController],
        permissions=[("example.notes.write", "Write notes")],
        subscriptions=[Subscription(api.NoteWritten, handlers.on_note_written)],
        jobs=[tasks.count_words],
        cli_commands=[cli.count_notes],
    )
