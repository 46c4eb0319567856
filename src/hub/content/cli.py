"""Operator commands of the content context (``hub thumbnails``, ``hub documents``,
``hub audit``: verify the audit trail's chains and sign their heads, for cron, monitoring
and incident response), added to ``hub`` by the bootstrap."""

from __future__ import annotations

import uuid

import click

from hub.content.domain.audit import PLATFORM_CHAIN
from hub.content.services.audit import AuditLog, Verdict
from hub.content.services.matching import Retagged, Retagging
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


def _chain_name(chain_id: uuid.UUID | None) -> str:
    return "platform" if chain_id == PLATFORM_CHAIN else f"organisation {chain_id}"


@documents_group.command("retag")
@click.option(
    "--organisation",
    type=click.UUID,
    default=None,
    help="Only this organisation's documents (default: every organisation's).",
)
@click.option("--limit", type=click.IntRange(1, 10_000_000), default=100_000, show_default=True)
def retag(organisation: uuid.UUID | None, limit: int) -> None:
    """Apply the tags' and document types' matching rules to documents already there (new
    documents get them when their text is extracted): tags are only added, a type only
    set where a document has none."""

    async def run(*, retagging: Retagging) -> Retagged:
        return await retagging.retag(organisation, limit=limit)

    done = run_with_services(run)
    click.echo(f"looked at {done.looked_at} document(s), {done.changed} changed")


@click.group("audit")
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command("verify")
@click.option(
    "--organisation",
    "organisation",
    type=click.UUID,
    default=None,
    help="Only this organisation's chain (default: every chain, the platform's included).",
)
@click.option("--platform", is_flag=True, help="Only the platform chain.")
def verify(organisation: uuid.UUID | None, platform: bool) -> None:
    """Recompute the chains and check their signed checkpoints; exit code 1 when broken."""

    async def run(*, audit_log: AuditLog) -> list[Verdict]:
        if organisation is not None:
            return [await audit_log.verify(organisation)]
        if platform:
            return [await audit_log.verify(PLATFORM_CHAIN)]
        chains: list[uuid.UUID] = sorted(await audit_log.chains())
        return [await audit_log.verify(c) for c in chains]

    verdicts = run_with_services(run)
    broken = False
    for v in verdicts:
        if v.ok:
            click.echo(
                f"ok      {_chain_name(v.chain_id)}: {v.entries} entries, "
                f"{v.checkpoints} checkpoints"
            )
        else:
            broken = True
            click.echo(
                f"BROKEN  {_chain_name(v.chain_id)}: {v.reason}"
                f" at entry {v.first_broken_entry_id or '-'} (after {v.entries} entries)"
            )
    if broken:
        raise SystemExit(1)


@audit.command("checkpoint")
def checkpoint() -> None:
    """Sign the head of every chain that grew since its last checkpoint."""

    async def run(*, audit_log: AuditLog) -> int:
        return await audit_log.checkpoint_all()

    click.echo(f"signed {run_with_services(run)} chain heads")
