"""``hub thumbnails …``: operator commands for content's thumbnails."""

from __future__ import annotations

import click

from hub.content.services.thumbnails import ThumbnailService
from hub.kernel.commands import run_with_services


@click.group("thumbnails")
def thumbnails() -> None:
    """Document thumbnails (made by the content.make_thumbnail job)."""


@thumbnails.command("backfill")
def backfill() -> None:
    """Queue the thumbnail job of every PDF or image version without a thumbnail: those
    uploaded before thumbnails existed, or whose job was dead-lettered."""

    async def run(*, thumbnails: ThumbnailService) -> int:
        return await thumbnails.backfill()

    queued = run_with_services(run)
    click.echo(f"{queued} thumbnail job{'' if queued == 1 else 's'} queued")
