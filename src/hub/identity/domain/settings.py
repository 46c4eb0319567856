"""Identity's own settings (``HUB_*`` variables like every other), declared on its
``ContextModule`` and loaded and validated with the kernel's: each rule sits on its field.
docs/identity.md explains each choice."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Annotated

import msgspec
from msgspec import Meta

from hub.identity.domain.passkeys import RP_ID_PATTERN, check_relying_party
from hub.kernel.settings import Networks, Origins, Quota, SettingsError, check_at_least

if TYPE_CHECKING:
    from hub.kernel.settings import Settings


class IdentitySettings(msgspec.Struct, kw_only=True, frozen=True):
    # Sessions, tokens sent by e-mail, step-up.
    #: At least HUB_ACCESS_TOKEN_TTL_SECONDS (checked in :meth:`check`).
    refresh_token_ttl_seconds: Annotated[int, Meta(ge=60)] = 30 * 24 * 3600
    refresh_grace_seconds: Annotated[int, Meta(ge=0, le=300)] = 10
    signing_key_cache_seconds: Annotated[int, Meta(ge=0, le=3600)] = 60
    mfa_challenge_ttl_seconds: Annotated[int, Meta(ge=30, le=3600)] = 300
    email_verification_ttl_seconds: Annotated[int, Meta(ge=60)] = 48 * 3600
    password_reset_ttl_seconds: Annotated[int, Meta(ge=60)] = 3600
    #: Lifetime of the undo link mailed to the old address on an e-mail change (0: none).
    email_change_undo_ttl_seconds: Annotated[int, Meta(ge=0)] = 7 * 86400
    recent_auth_seconds: Annotated[int, Meta(ge=1)] = 600
    #: A session ends this long after its sign-in, however active (refresh refused).
    session_max_age_seconds: Annotated[int, Meta(ge=300)] = 30 * 86400
    #: A session ends when not refreshed for this long; at least the access-token TTL
    #: (an active client refreshes once per access token) and at most the maximum age.
    session_idle_timeout_seconds: Annotated[int, Meta(ge=60)] = 7 * 86400
    # Passkeys (WebAuthn): the relying party (domain.passkeys).
    #: Empty: the host of the first origin.
    webauthn_rp_id: Annotated[
        str,
        Meta(
            pattern=RP_ID_PATTERN,
            extra={"rule": "empty or a lower-case domain name without scheme or port"},
        ),
    ] = ""
    webauthn_rp_name: Annotated[str, Meta(min_length=1, max_length=64)] = "Hub"
    #: Empty: the origin of HUB_FRONTEND_URL, else of HUB_PUBLIC_URL.
    webauthn_origins: Origins = ()
    #: Lifetime of a registration or sign-in challenge (single use).
    webauthn_challenge_ttl_seconds: Annotated[int, Meta(ge=30, le=600)] = 300
    # Single sign-on (OpenID Connect; services.sso_sign_in, docs/identity.md).
    #: Lifetime of a sign-in's state, nonce and PKCE verifier (single use, in Redis).
    oidc_state_ttl_seconds: Annotated[int, Meta(ge=60, le=1800)] = 600
    #: How long a "link this account" confirmation stays open after an SSO sign-in met
    #: an existing account with the same address.
    oidc_link_ttl_seconds: Annotated[int, Meta(ge=60, le=3600)] = 900
    #: Networks identity providers may sit in besides public addresses (loopback and
    #: private ones are refused otherwise); an issuer on plain http:// must be in one.
    oidc_allow_private_networks: Networks = ()
    #: Whether an organisation's provider makes accounts only at domains the organisation
    #: proved with a DNS TXT record (platform providers are trusted as configured).
    sso_verified_domains_only: bool = True
    #: Mail a person when their account is signed in to from a device (browser and system)
    #: none of its earlier sessions used.
    sign_in_alerts: bool = True
    #: Name servers asked for domain proofs (IP addresses); empty: the system's.
    dns_nameservers: tuple[str, ...] = ()
    dns_port: Annotated[int, Meta(ge=1, le=65535)] = 53
    #: How long one domain-proof lookup may take, all servers and retries included.
    dns_timeout_seconds: Annotated[int, Meta(ge=1, le=30)] = 3
    # Identity: argon2id cost (OWASP: t=2, m=19 MiB, p=1) and brute-force protection.
    password_hash_time_cost: Annotated[int, Meta(ge=1, le=100)] = 2
    #: argon2 needs at least 8 KiB per lane (checked in :meth:`check`); 4 GiB max.
    password_hash_memory_kib: Annotated[int, Meta(ge=8, le=4 * 1024 * 1024)] = 19 * 1024
    password_hash_parallelism: Annotated[int, Meta(ge=1, le=255)] = 1
    lockout_threshold: Annotated[int, Meta(ge=1)] = 10
    mfa_lockout_threshold: Annotated[int, Meta(ge=1)] = 5
    ip_lockout_threshold: Annotated[int, Meta(ge=1)] = 100
    lockout_window_seconds: Annotated[int, Meta(ge=1)] = 900
    lockout_base_seconds: Annotated[int, Meta(ge=1)] = 60
    #: At least HUB_LOCKOUT_BASE_SECONDS (checked in :meth:`check`).
    lockout_max_seconds: Annotated[int, Meta(ge=1)] = 900
    lockout_reset_seconds: Annotated[int, Meta(ge=1)] = 12 * 3600
    #: How long revoked sessions and expired invitations are kept before housekeeping
    #: deletes them (identity.prune_expired, hourly).
    identity_history_days: Annotated[int, Meta(ge=1)] = 90
    #: Days between an owner's request to delete an organisation and its purge; the
    #: owner can cancel until then (README "Deleting an organisation").
    org_deletion_grace_days: Annotated[int, Meta(ge=1, le=3650)] = 30
    # Identity: organisations, invitations, API keys, idempotent writes.
    invitation_ttl_seconds: Annotated[int, Meta(ge=60)] = 7 * 86400
    #: last_used_at of an API key is written at most this often (a write per request is waste).
    api_key_touch_seconds: Annotated[int, Meta(ge=0)] = 60
    #: How long a membership (a member's roles) stays cached in Redis; every change drops
    #: it at once, this only bounds an entry's life. 0: no cache across requests.
    membership_cache_seconds: Annotated[int, Meta(ge=0, le=86400)] = 300
    # Abuse limits on mail (kernel keyed limits; "<count>/<seconds>", README "Identity").
    #: Mail to an address anyone may name (verification, reset, "you already have an
    #: account", invitation, a new address to confirm), per mailbox, across all of them.
    rate_limit_mail_per_address: Quota = "5/3600"
    #: Invitations sent or resent by one organisation.
    rate_limit_invitations_per_org: Quota = "100/3600"

    def check(self, kernel: Settings) -> None:
        """Rules between two settings (a single field's rules sit on the field)."""
        check_at_least(
            self,
            "refresh_token_ttl_seconds",
            "access_token_ttl_seconds",
            kernel.access_token_ttl_seconds,
        )
        check_at_least(self, "lockout_max_seconds", "lockout_base_seconds")
        check_at_least(
            self,
            "session_idle_timeout_seconds",
            "access_token_ttl_seconds",
            kernel.access_token_ttl_seconds,
        )
        check_at_least(self, "session_max_age_seconds", "session_idle_timeout_seconds")
        check_relying_party(self, kernel)
        for server in self.dns_nameservers:
            try:
                ipaddress.ip_address(server)
            except ValueError:
                raise SettingsError(
                    f"HUB_DNS_NAMESERVERS must be IP addresses, comma-separated (got {server!r})"
                ) from None
        if self.password_hash_memory_kib < 8 * self.password_hash_parallelism:
            raise SettingsError(
                "HUB_PASSWORD_HASH_MEMORY_KIB must be >= 8 x HUB_PASSWORD_HASH_PARALLELISM "
                f"(argon2's minimum; got {self.password_hash_memory_kib})"
            )
