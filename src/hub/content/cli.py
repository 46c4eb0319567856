"""``hub documents``: operator commands of the content context, added to ``hub`` by the
bootstrap."""

from __future__ import annotations

import click

from hub.content.services.text_extraction import TextExtraction
from hub.kernel.commands import run_with_services


@click.group("documents")
def documents_group() -> None:
    """Documents: operator tasks."""


@documents_group.command("extract")
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
def extract(limit: int) -> None:
    """Queue text extraction of current versions that have none (uploaded before it
    existed) or whose extraction failed; run it again until it queues nothing."""

    async def run(*, text_extraction: TextExtraction) -> int:
        return await text_extraction.requeue(limit=limit)

    queued = run_with_services(run)
    click.echo(f"queued text extraction of {queued} version(s)")
