"""``hub keys`` (signing keys), ``hub users`` (accounts) and ``hub secrets`` (rotating
``HUB_SECRET_KEY``), added to the ``hub`` command by the bootstrap."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

import click

from hub.identity.services.accounts import AccountService
from hub.identity.services.admin import AdminService
from hub.identity.services.registration import RegistrationService
from hub.identity.services.secret_rotation import Moved, SecretRotation, Usage
from hub.identity.services.signing import SigningKeys
from hub.kernel.commands import run_with_services

T = TypeVar("T")


@click.group("keys")
def keys() -> None:
    """Access-token signing keys (public keys at /.well-known/jwks.json)."""


@keys.command("rotate")
def rotate() -> None:
    """Start signing with a new key; the old one keeps verifying until its tokens expire."""

    async def run(*, signing_keys: SigningKeys) -> str:
        return await signing_keys.rotate()

    kid = run_with_services(run)
    click.echo(
        f"signing with new key {kid}; running processes pick it up within "
        "HUB_SIGNING_KEY_CACHE_SECONDS"
    )


@keys.command("list")
def list_keys() -> None:
    """The published keys, newest first (the first unretired one signs)."""

    async def run(*, signing_keys: SigningKeys) -> list[tuple[str, str, str]]:
        return [
            (
                k.kid,
                k.created_at.isoformat(timespec="seconds"),
                k.retired_at.isoformat(timespec="seconds") if k.retired_at else "signing",
            )
            for k in await signing_keys.ring.published()
        ]

    for kid, created, state in run_with_services(run):
        click.echo(f"{kid}  created {created}  {state}")


def _new_account(command: Callable[..., None]) -> Callable[..., None]:
    """The address, name and password every command creating an account takes."""
    command = click.option(
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="HUB_NEW_USER_PASSWORD",
        help="Prompted for when omitted (or HUB_NEW_USER_PASSWORD).",
    )(command)
    command = click.option(
        "--name", "display_name", default=None, help="Display name (default: the address)."
    )(command)
    return click.argument("email")(command)


@click.group("users")
def users() -> None:
    """Accounts, from the operator's side."""


@users.command("create")
@_new_account
@click.option("--platform-admin", is_flag=True, help="Make the account a platform admin.")
def create_user(email: str, display_name: str | None, password: str, platform_admin: bool) -> None:
    """Create an account whose address counts as verified (it can sign in at once)."""
    _create_verified(email, display_name, password, platform_admin=platform_admin)


def _create_verified(
    email: str, display_name: str | None, password: str, *, platform_admin: bool
) -> None:
    from hub.kernel.errors import AppError

    async def run(*, registration: RegistrationService) -> str:
        user_id = await registration.create_verified_user(
            email, password, display_name or email, platform_admin=platform_admin
        )
        return str(user_id)

    try:
        click.echo(run_with_services(run))
    except AppError as exc:
        raise click.ClickException(exc.detail) from None


def _on_account(email: str, act: Callable[[AccountService, uuid.UUID], Awaitable[T]]) -> T:
    """Run ``act`` on the account using ``email``; a CLI error when none does."""

    async def run(*, accounts: AccountService) -> tuple[bool, T | None]:
        user = await accounts.find_by_email(email)
        if user is None:
            return False, None
        return True, await act(accounts, user.id)

    found, result = run_with_services(run)
    if not found:
        raise click.ClickException(f"no account uses {email}")
    return cast(T, result)


@users.command("disable")
@click.argument("email")
def disable_user(email: str) -> None:
    """Disable an account and end all of its sessions at once."""
    ended = _on_account(email, lambda accounts, uid: accounts.disable_user(uid, actor_id=None))
    click.echo(f"disabled; {ended} session(s) ended")


@users.command("enable")
@click.argument("email")
def enable_user(email: str) -> None:
    """Let a disabled account sign in again (its ended sessions and revoked keys stay so)."""
    enabled = _on_account(email, lambda accounts, uid: accounts.enable_user(uid, actor_id=None))
    click.echo("enabled" if enabled else "already enabled")


@users.command("reset-mfa")
@click.argument("email")
def reset_mfa(email: str) -> None:
    """Turn an account's two-step verification off and delete its recovery codes (lost
    phone, or an authenticator someone else enrolled); the user is e-mailed."""

    async def run(*, user_admin: AdminService) -> bool | None:
        return await user_admin.reset_mfa_by_email(email)

    done = run_with_services(run)
    if done is None:
        raise click.ClickException(f"no account uses {email}")
    if not done:
        raise click.ClickException(f"two-step verification is not on for {email}")
    click.echo("two-step verification turned off; recovery codes deleted")


@users.command("create-admin")
@_new_account
def create_admin(email: str, display_name: str | None, password: str) -> None:
    """Create a platform administrator (manages /api/v1/users: disable, unlock)."""
    _create_verified(email, display_name, password, platform_admin=True)


@users.command("unlock")
@click.argument("email")
def unlock_user(email: str) -> None:
    """Clear the brute-force lockouts of an account (password and second factor)."""

    async def run(*, user_admin: AdminService) -> bool:
        return await user_admin.unlock_by_email(email)

    if not run_with_services(run):
        raise click.ClickException(f"no account uses {email}")
    click.echo("unlocked")


@click.group("secrets")
def secrets_group() -> None:
    """Rotating HUB_SECRET_KEY (README: Rotating HUB_SECRET_KEY)."""


@secrets_group.command("rotate")
def rotate_secrets() -> None:
    """Re-seal TOTP secrets and signing keys (and re-bind pending reset links) under the
    current HUB_SECRET_KEY; safe to run again."""

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
        keys = secret_rotation.secrets
        return keys.key_id, list(keys.previous_ids), await secret_rotation.status()

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
