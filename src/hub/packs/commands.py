"""``hub pack validate|apply|export|list``: packs from the command line.

``apply`` acts as the organisation's first owner (the events and the audit trail name a
person); ``validate`` reads no organisation and writes nothing.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import click

from hub.identity.api import IdentityConfigApi
from hub.kernel.commands import run_with_services
from hub.packs.engine import PackEngine, PackReport, export_name
from hub.packs.files import read_pack, write_pack
from hub.packs.format import PackDocument, PackProblem
from hub.packs.shipped import SHIPPED, pack_path


def _show(problems: list[PackProblem]) -> None:
    for p in problems:
        click.echo(f"  {p.path}: {p.message}", err=True)


async def find_organisation(identity_config: IdentityConfigApi, ref: str) -> uuid.UUID:
    found = await identity_config.organisations_named(ref)
    if not found:
        raise click.ClickException(f"no organisation {ref!r} (give its id or its exact name)")
    if len(found) > 1:
        ids = ", ".join(str(o.id) for o in found)
        raise click.ClickException(f"several organisations are named {ref!r}: give the id ({ids})")
    return found[0].id


@click.group("pack")
def pack() -> None:
    """Domain packs: an organisation's configuration as YAML files."""


@pack.command("list")
def list_packs() -> None:
    """The packs shipped with the hub (use their name as PATH)."""
    for name, what in SHIPPED.items():
        click.echo(f"{name:<12} {what}")


@pack.command("validate")
@click.argument("path")
def validate(path: str) -> None:
    """PackReport every problem of the pack at PATH (a directory or a shipped pack's name);
    exit 1 when there is any. Reads no organisation, changes nothing."""
    document, problems = read_pack(pack_path(path))

    async def run(*, packs: PackEngine) -> list[PackProblem]:
        return await packs.problems(document) if document is not None else []

    problems += run_with_services(run)
    if problems:
        click.echo(f"{path}: {len(problems)} problem(s)", err=True)
        _show(problems)
        raise SystemExit(1)
    assert document is not None
    click.echo(f"{document.pack.name} {document.pack.version}: valid")


@pack.command("apply")
@click.argument("path")
@click.option("--org", "org", required=True, help="Organisation id or exact name.")
def apply(path: str, org: str) -> None:
    """Apply the pack at PATH to an organisation: create or update what differs, publish
    new workflow versions; a second run reports "no changes"."""
    document, problems = read_pack(pack_path(path))

    async def run(
        *, packs: PackEngine, identity_config: IdentityConfigApi
    ) -> PackReport | list[PackProblem]:
        found = problems + (await packs.problems(document) if document is not None else [])
        if found or document is None:
            return found
        organisation_id = await find_organisation(identity_config, org)
        owner = await packs.first_owner(organisation_id)
        if owner is None:
            raise click.ClickException("the organisation has no active owner to act as")
        return await packs.apply(organisation_id, document, actor_id=owner)

    outcome = run_with_services(run)
    if isinstance(outcome, list):
        click.echo(f"{path}: {len(outcome)} problem(s); nothing applied", err=True)
        _show(outcome)
        raise SystemExit(1)
    for change in outcome.changes:
        if change.change != "unchanged":
            version = f" (version {change.version})" if change.version is not None else ""
            click.echo(f"  {change.change:<8} {change.kind} {change.name}{version}")
    click.echo(outcome.summary())


@pack.command("export")
@click.option("--org", "org", required=True, help="Organisation id or exact name.")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory to write (default: ./<organisation name>).",
)
@click.option("--name", "name", default=None, help="Pack name (default: from the organisation).")
def export(org: str, out: Path | None, name: str | None) -> None:
    """Write an organisation's configuration out as a pack directory."""

    async def run(*, packs: PackEngine, identity_config: IdentityConfigApi) -> PackDocument:
        organisation_id = await find_organisation(identity_config, org)
        found = await packs.organisation_name(organisation_id) or ""
        return await packs.export(organisation_id, name=name or export_name(found))

    document = run_with_services(run)
    root = out or Path(document.pack.name)
    for written in write_pack(document, root):
        click.echo(f"  {root / written}")
    click.echo(f"exported {document.pack.name} to {root}")


COMMANDS = [pack]
