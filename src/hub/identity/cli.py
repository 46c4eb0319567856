"""``hub keys`` (signing keys), ``hub users`` (accounts) and ``hub domains`` (proved
domains), added to the ``hub`` command by the bootstrap (``hub secrets`` is the kernel's:
every context keeps sealed values)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import click

from hub.identity.services.accounts import AccountService
from hub.identity.services.admin import AdminService
from hub.identity.services.org_domains import OrgDomains
from hub.identity.services.registration import RegistrationService
from hub.identity.services.signing import SigningKeys
from hub.identity.services.sso_providers import DiscoveryRefresh, SsoProviders
from hub.kernel.commands import run_with_services
from hub.kernel.errors import AppError

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


@click.group("domains")
def domains() -> None:
    """Organisations' proved e-mail domains (single sign-on)."""


@domains.command("release")
@click.argument("domain")
def release_domain(domain: str) -> None:
    """Free a domain an organisation verified, so that another may verify it (the domain
    changed hands); the organisation's providers stop making accounts there."""

    async def run(*, org_domains: OrgDomains) -> Any:
        try:
            return await org_domains.release(domain)
        except AppError as exc:
            raise click.ClickException(exc.detail) from None

    released = run_with_services(run)
    if released is None:
        raise click.ClickException(f"no organisation verified {domain}")
    click.echo(
        f"released {released.domain} from organisation {released.organisation_id} "
        f"({released.organisation_name})"
    )


@click.group("sso")
def sso() -> None:
    """Single sign-on: the identity providers."""


@sso.command("refresh")
def refresh_discovery() -> None:
    """Read every identity provider's discovery document again now and store the
    endpoints it names (what the daily job does): after a provider moved an endpoint or
    began to publish one."""

    async def run(*, sso_providers: SsoProviders) -> DiscoveryRefresh:
        return await sso_providers.refresh_discovery()

    done = run_with_services(run)
    click.echo(
        f"providers: {done.refreshed} refreshed, {done.unchanged} unchanged, {done.failed} failed"
    )
    if done.failed:
        raise SystemExit(1)
