"""Operator commands of the content context (``hub thumbnails``, ``hub documents``), added
to ``hub`` by the bootstrap."""

from __future__ import annotations

import click

from hub.content.services.text_extraction import TextExtraction
from hub.content.services.thumbnails import ThumbnailService
from hub.kernel.commands import run_with_services


@click.group("thumbnails")
def thumbnails_group() -> None:
    """Document thumbnails (made by the content.make_thumbnail job)."""


@thumbnails_group.command("backfill")
def backfill() -> None:
    """Queue the thumbnail job of every PDF or image version without a thumbnail: those
    uploaded before thumbnails existed, or whose job was dead-lettered."""

    async def run(*, thumbnails: ThumbnailService) -> int:
        return await thumbnails.backfill()

    queued = run_with_services(run)
    click.echo(f"{queued} thumbnail job{'' if queued == 1 else 's'} queued")


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
