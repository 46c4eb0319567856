"""``hub example-notes ORG_ID``: how many notes an organisation has."""

import uuid

import click

from hub.kernel.commands import run_with_services
from tests.kit_example.services import NoteService


@click.command("example-notes")
@click.argument("organisation_id", type=click.UUID)
def count_notes(organisation_id: uuid.UUID) -> None:
    """Count an organisation's notes."""

    async def run(*, notes: NoteService) -> int:
        return await notes.count(organisation_id)

    click.echo(f"{run_with_services(run)} notes")
