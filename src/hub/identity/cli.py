"""``hub keys``: signing-key management (added to the ``hub`` command by the bootstrap)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import click

from hub.identity.services.container import Identity
from hub.kernel.runtime import Kernel
from hub.kernel.servers import command_servers
from hub.kernel.settings import SettingsError, load_settings


@contextlib.asynccontextmanager
async def _identity() -> AsyncIterator[Identity]:
    try:
        settings = load_settings()
        settings.check_production_safety()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    # Embedded servers of HUB_DATA_DIR when no URLs are set: shared with a running
    # `hub run`, else started for this command and stopped after it; schema at head.
    with command_servers(settings) as live:
        assert live.database_url is not None
        assert live.redis_url is not None
        kernel = Kernel(settings=live, database_url=live.database_url, redis_url=live.redis_url)
        try:
            yield Identity.of(kernel)
        finally:
            await kernel.close()


@click.group("keys")
def keys() -> None:
    """Access-token signing keys (public keys at /.well-known/jwks.json)."""


@keys.command("rotate")
def rotate() -> None:
    """Start signing with a new key; the old one keeps verifying until its tokens expire."""

    async def run() -> str:
        async with _identity() as identity:
            await identity.rt.keys.ensure()
            return await identity.rotate_keys()

    kid = asyncio.run(run())
    click.echo(
        f"signing with new key {kid}; running processes pick it up within "
        "HUB_SIGNING_KEY_CACHE_SECONDS"
    )


@keys.command("list")
def list_keys() -> None:
    """The published keys, newest first (the first unretired one signs)."""

    async def run() -> list[tuple[str, str, str]]:
        async with _identity() as identity:
            return [
                (
                    k.kid,
                    k.created_at.isoformat(timespec="seconds"),
                    k.retired_at.isoformat(timespec="seconds") if k.retired_at else "signing",
                )
                for k in await identity.rt.keys.published()
            ]

    for kid, created, state in asyncio.run(run()):
        click.echo(f"{kid}  created {created}  {state}")


@click.group("users")
def users() -> None:
    """Accounts, from the operator's side."""


@users.command("create")
@click.argument("email")
@click.option("--name", "display_name", default=None, help="Display name (default: the address).")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="HUB_NEW_USER_PASSWORD",
    help="Prompted for when omitted (or HUB_NEW_USER_PASSWORD).",
)
@click.option("--platform-admin", is_flag=True, help="Make the account a platform admin.")
def create_user(email: str, display_name: str | None, password: str, platform_admin: bool) -> None:
    """Create an account whose address counts as verified (it can sign in at once)."""
    _create_verified(email, display_name, password, platform_admin=platform_admin)


def _create_verified(
    email: str, display_name: str | None, password: str, *, platform_admin: bool
) -> None:
    from hub.kernel.errors import AppError

    async def run() -> str:
        async with _identity() as identity:
            user_id = await identity.accounts.create_verified_user(
                email, password, display_name or email, platform_admin=platform_admin
            )
            return str(user_id)

    try:
        click.echo(asyncio.run(run()))
    except AppError as exc:
        raise click.ClickException(exc.detail) from None


@users.command("disable")
@click.argument("email")
def disable_user(email: str) -> None:
    """Disable an account and end all of its sessions at once."""
    from hub.identity.domain.emails import normalise_email
    from hub.identity.services.users import user_by_email

    async def run() -> int | None:
        async with _identity() as identity:
            user = await user_by_email(identity.rt, normalise_email(email))
            if user is None:
                return None
            return await identity.accounts.disable_user(user.id, actor_id=None)

    ended = asyncio.run(run())
    if ended is None:
        raise click.ClickException(f"no account uses {email}")
    click.echo(f"disabled; {ended} session(s) ended")


@users.command("create-admin")
@click.argument("email")
@click.option("--name", "display_name", default=None, help="Display name (default: the address).")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="HUB_NEW_USER_PASSWORD",
    help="Prompted for when omitted (or HUB_NEW_USER_PASSWORD).",
)
def create_admin(email: str, display_name: str | None, password: str) -> None:
    """Create a platform administrator (manages /api/v1/users: disable, unlock)."""
    _create_verified(email, display_name, password, platform_admin=True)


@users.command("unlock")
@click.argument("email")
def unlock_user(email: str) -> None:
    """Clear the brute-force lockouts of an account (password and second factor)."""
    from hub.identity.domain.emails import normalise_email
    from hub.identity.services.users import user_by_email

    async def run() -> bool:
        async with _identity() as identity:
            address = normalise_email(email)
            throttle = identity.rt.throttle
            user = await user_by_email(identity.rt, address)
            counters = [throttle.account(address)]
            if user is not None:
                counters.append(throttle.mfa(user.id))
            await throttle.unlock(*counters)
            return user is not None

    if not asyncio.run(run()):
        raise click.ClickException(f"no account uses {email}")
    click.echo("unlocked")
