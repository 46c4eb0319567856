"""``hub secrets``: rotating ``HUB_SECRET_KEY`` over every context this process serves
(README: Rotating HUB_SECRET_KEY); the work is :mod:`hub.kernel.secret_rotation`'s."""

from __future__ import annotations

import click

from hub.kernel.commands import run_with_services
from hub.kernel.secret_rotation import Moved, SecretRotation, Usage


@click.group("secrets")
def secrets_group() -> None:
    """Rotating HUB_SECRET_KEY (README: Rotating HUB_SECRET_KEY)."""


@secrets_group.command("rotate")
def rotate_secrets() -> None:
    """Re-seal every context's sealed values (TOTP secrets, signing keys, SSO client
    credentials, webhook secrets, chat channel URLs) and re-bind pending reset links under
    the current HUB_SECRET_KEY; safe to run again."""

    async def run(*, secret_rotation: SecretRotation) -> list[Moved]:
        return await secret_rotation.rotate()

    report = run_with_services(run)
    for moved in report:
        line = (
            f"{moved.what}: {moved.moved} moved to the current key, {moved.current} already on it"
        )
        if moved.lost:
            line += f", {moved.lost} that no configured key opens (left as they are)"
        click.echo(line)
    click.echo(
        "API keys and recovery codes move to the current key when used; "
        "`hub secrets status` counts those still on a previous key"
    )


@secrets_group.command("status")
def secrets_status() -> None:
    """How many live values each configured key made; whether HUB_SECRET_KEY_PREVIOUS is
    still needed."""

    async def run(*, secret_rotation: SecretRotation) -> tuple[str, list[str], list[Usage]]:
        rotation = secret_rotation
        return rotation.key_id, list(rotation.previous_ids), await rotation.status()

    current, previous, usage = run_with_services(run)
    click.echo(f"current key {current}; previous keys: {', '.join(previous) or 'none'}")
    click.echo(f"{'':26}{'current':>9}{'previous':>10}{'no key':>8}{'unknown':>9}")
    waiting = lost = unknown = 0
    for u in usage:
        on_previous = sum(n for kid, n in u.by_key.items() if kid != current)
        waiting += on_previous
        lost += u.lost
        unknown += u.unlabelled or 0
        label = "-" if u.unlabelled is None else str(u.unlabelled)
        click.echo(
            f"{u.what:26}{u.by_key.get(current, 0):>9}{on_previous:>10}{u.lost:>8}{label:>9}"
        )
    for kid in previous:
        count = sum(u.by_key.get(kid, 0) for u in usage)
        click.echo(f"previous key {kid}: {count} value(s) depend on it")
    if lost:
        click.echo(
            f"{lost} value(s) no configured key opens or verifies: their key is lost "
            "(README: Rotating HUB_SECRET_KEY)"
        )
    if previous and (waiting or unknown):
        click.echo(
            f"keep HUB_SECRET_KEY_PREVIOUS: {waiting + unknown} value(s) may still depend on it "
            "(run `hub secrets rotate`; API keys and recovery codes move when used, or "
            "re-create them)"
        )
    elif previous:
        click.echo("nothing depends on HUB_SECRET_KEY_PREVIOUS any more: it can be removed")
    else:
        click.echo("no previous key configured")
