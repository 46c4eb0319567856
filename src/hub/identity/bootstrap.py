"""Wires the identity context: its services (built once from its runtime), routes, tables,
permissions, jobs and CLI. Only ``hub.app``, ``hub.cli`` and ``hub.worker`` import this."""

from __future__ import annotations

import uuid
from typing import Any

from hub.identity.api import (
    IdentityApi,
    IdentityAuthentication,
    IdentityConfigApi,
    Membership,
    UserErased,
)
from hub.identity.cli import domains, keys, sso, users
from hub.identity.controllers.admin import UserAdminController
from hub.identity.controllers.apikeys import ApiKeyController
from hub.identity.controllers.auth import AuthController
from hub.identity.controllers.invitations import InvitationAcceptController, InvitationController
from hub.identity.controllers.jwks import jwks
from hub.identity.controllers.mfa import MfaController
from hub.identity.controllers.org_deletion import OrganisationDeletionController
from hub.identity.controllers.orgs import (
    MemberController,
    OrganisationController,
    OwnershipController,
)
from hub.identity.controllers.pages import PAGE_HANDLERS, LinkPages
from hub.identity.controllers.passkeys import PasskeyController, PasskeySignInController
from hub.identity.controllers.permissions import list_permissions
from hub.identity.controllers.personal_data import PersonalDataController
from hub.identity.controllers.roles import RoleController
from hub.identity.controllers.sessions import SessionController
from hub.identity.controllers.sso import (
    OrgDomainController,
    OrgIdentityProviderController,
    PlatformIdentityProviderController,
    SsoLinkController,
    SsoLogoutController,
    SsoPolicyController,
    SsoSignInController,
)
from hub.identity.domain.passkeys import relying_party
from hub.identity.domain.roles import PERMISSIONS
from hub.identity.domain.secrets import IdentitySecrets
from hub.identity.domain.settings import IdentitySettings
from hub.identity.facade import AuthenticationFacade, IdentityConfigFacade, IdentityFacade
from hub.identity.handlers import on_user_erased
from hub.identity.models import Base
from hub.identity.services.access import AccessService
from hub.identity.services.accounts import AccountService
from hub.identity.services.admin import AdminService
from hub.identity.services.apikeys import ApiKeyService
from hub.identity.services.auth import AuthService
from hub.identity.services.dns_proof import TxtLookup
from hub.identity.services.email_tokens import EmailTokens
from hub.identity.services.housekeeping import Housekeeping
from hub.identity.services.invitations import InvitationService
from hub.identity.services.keys import KeyRing
from hub.identity.services.mail import IdentityMail
from hub.identity.services.mail_limits import MailLimits
from hub.identity.services.members import MemberService
from hub.identity.services.membership_cache import MembershipCache
from hub.identity.services.mfa import MfaService
from hub.identity.services.oidc import OidcClient
from hub.identity.services.org_deletion import OrganisationDeletion
from hub.identity.services.org_domains import OrgDomains
from hub.identity.services.orgs import OrganisationService
from hub.identity.services.ownership import OwnershipService
from hub.identity.services.passkey_challenges import PasskeyChallenges
from hub.identity.services.passkey_sign_in import PasskeySignIn
from hub.identity.services.passkeys import PasskeyService
from hub.identity.services.password_reset import PasswordService
from hub.identity.services.passwords import PasswordHasher
from hub.identity.services.pending_invitations import PendingInvitations
from hub.identity.services.personal_data import (
    AccountErasure,
    IdentityPersonalData,
    PersonalDataArchives,
)
from hub.identity.services.profile import ProfileService
from hub.identity.services.provisioning import Provisioning
from hub.identity.services.registration import RegistrationService
from hub.identity.services.resend_verification import ResendVerification
from hub.identity.services.roles import RoleService
from hub.identity.services.secret_rotation import IdentitySecretRotation
from hub.identity.services.sessions import SessionService
from hub.identity.services.signing import SigningKeys
from hub.identity.services.sso_links import SsoLinks
from hub.identity.services.sso_logout import SsoLogout
from hub.identity.services.sso_policy import SsoPolicyService
from hub.identity.services.sso_providers import SsoProviders
from hub.identity.services.sso_sign_in import SsoSignIn
from hub.identity.services.sso_state import SsoState
from hub.identity.services.throttle import Throttle
from hub.identity.services.tokens import AccessTokens
from hub.identity.tasks import (
    PRUNE_HOURLY,
    PURGE_ORGANISATIONS,
    REFRESH_SSO_DISCOVERY_DAILY,
    prune_expired_rows,
    purge_organisations,
    refresh_sso_discovery,
)
from hub.kernel.contexts import ContextModule
from hub.kernel.egress import AddressPolicy
from hub.kernel.personal_data import PersonalDataApi
from hub.kernel.remote.interface import describe
from hub.kernel.runtime import ContextRuntime, Kernel
from hub.kernel.security import Principal
from hub.kernel.subscribers import Subscription


def services(rt: ContextRuntime) -> dict[str, Any]:
    """Every use case of identity, wired once per process; also plugs identity into the
    kernel's authenticator (API keys) and tenancy rule (memberships)."""
    store, security, clock = rt.store, rt.kernel.security, rt.clock
    settings: IdentitySettings = rt.config
    secrets = IdentitySecrets(rt.settings.secret_key, rt.settings.secret_key_previous)
    hasher = PasswordHasher(settings)
    ring = KeyRing(store, rt.settings, settings, secrets.signing_keys)
    tokens = AccessTokens(ring, rt.settings)
    throttle = Throttle(rt.redis, settings)
    mail = IdentityMail(rt.settings, settings)
    limits = MailLimits(rt.kernel.rate_limits, settings)
    sessions = SessionService(store, settings, tokens, security.revocations, clock, mail)
    mfa = MfaService(store, settings, secrets, throttle, mail, clock)
    sso_policy = SsoPolicyService(store, clock)
    auth = AuthService(
        store, settings, rt.redis, hasher, throttle, tokens, sessions, mfa, sso_policy
    )
    email_tokens = EmailTokens(store, settings, secrets, throttle, clock)
    accounts = AccountService(store, sessions, clock)
    access = AccessService(
        store,
        rt.kernel.permissions,
        MembershipCache(rt.redis, settings.membership_cache_seconds, scripts=rt.script),
    )
    roles = RoleService(store, access, clock)
    api_keys = ApiKeyService(store, settings, secrets, throttle, access, clock)
    challenges = PasskeyChallenges(rt.redis, settings)
    passkeys = PasskeyService(
        store, settings, relying_party(settings, rt.settings), challenges, throttle
    )
    signing = SigningKeys(ring, security.verifier)
    members = MemberService(store, access, roles, clock)
    rt.tenancy.use(access.membership)
    security.use_api_keys(api_keys.resolve)
    registration = RegistrationService(
        store, settings, hasher, throttle, mail, email_tokens, limits, clock
    )
    orgs = OrganisationService(store, access, clock)
    accounts_admin = AdminService(store, settings, throttle, accounts, mfa)
    oidc = OidcClient(AddressPolicy.of(settings.oidc_allow_private_networks))
    sso_providers = SsoProviders(
        store,
        secrets,
        oidc,
        accounts_admin,
        redirect_uri=f"{rt.settings.public_url.rstrip('/')}/api/v1/auth/sso/callback",
        verified_domains_only=settings.sso_verified_domains_only,
    )
    return {
        "accounts": accounts,
        "registration": registration,
        "resend_verification": ResendVerification(store, settings, limits, mail, email_tokens),
        "profile": ProfileService(
            store, settings, mail, email_tokens, hasher, sessions, limits, clock
        ),
        "passwords": PasswordService(
            store, settings, hasher, throttle, mail, sessions, auth, email_tokens, limits, clock
        ),
        "auth": auth,
        "sessions": sessions,
        "mfa": mfa,
        "passkeys": passkeys,
        "passkey_sign_in": PasskeySignIn(passkeys, challenges, auth),
        "orgs": orgs,
        "roles": roles,
        "members": members,
        "ownership": OwnershipService(members, settings),
        "invitations": InvitationService(
            store, settings, throttle, mail, access, roles, limits, clock
        ),
        "pending_invitations": PendingInvitations(
            store, settings, mail, access, roles, limits, clock
        ),
        "api_keys": api_keys,
        "user_admin": accounts_admin,
        "sso_providers": sso_providers,
        "sso_policy": sso_policy,
        "sso_links": SsoLinks(store, settings.recent_auth_seconds),
        "sso_logout": SsoLogout(
            store,
            rt.redis,
            sso_providers,
            oidc,
            sessions,
            auth,
            clock,
            post_logout_redirect_uri=rt.settings.frontend_url,
        ),
        "org_domains": OrgDomains(
            store,
            TxtLookup(settings.dns_nameservers, settings.dns_port, settings.dns_timeout_seconds),
            clock,
        ),
        "sso_sign_in": SsoSignIn(
            store,
            sso_providers,
            SsoState(rt.redis, settings),
            oidc,
            auth,
            access,
            clock,
        ),
        "signing_keys": signing,
        "password_hasher": hasher,
        "identity_api": IdentityFacade(store, access),
        "identity_authentication": AuthenticationFacade(signing, api_keys),
        "identity_config": IdentityConfigFacade(
            store, roles, access, Provisioning(store, accounts, registration, orgs, clock)
        ),
        "identity_secret_rotation": IdentitySecretRotation(store, secrets),
        "link_pages": LinkPages(rt.settings),
        "org_deletion": OrganisationDeletion(
            store,
            access,
            mail,
            clock,
            grace_days=settings.org_deletion_grace_days,
            recent_auth_seconds=settings.recent_auth_seconds,
        ),
        "identity_personal_data": IdentityPersonalData(store),
        "personal_data_archives": PersonalDataArchives(clock),
        "account_erasure": AccountErasure(store, settings, sessions, access.cache),
        "housekeeping": Housekeeping(store, clock, history_days=settings.identity_history_days),
    }


async def start(
    *,
    signing_keys: SigningKeys,
    password_hasher: PasswordHasher,
    identity_secret_rotation: IdentitySecretRotation,
) -> None:
    await signing_keys.start()
    await password_hasher.warm_up()
    await identity_secret_rotation.label_unlabelled()


def build() -> ContextModule:
    return ContextModule(
        name="identity",
        metadata=Base.metadata,
        depends_on=(),
        settings=IdentitySettings,
        services=services,
        route_handlers=[
            AuthController,
            SessionController,
            MfaController,
            PasskeyController,
            PasskeySignInController,
            ApiKeyController,
            OrganisationController,
            MemberController,
            OwnershipController,
            OrganisationDeletionController,
            RoleController,
            InvitationController,
            InvitationAcceptController,
            list_permissions,
            UserAdminController,
            PersonalDataController,
            OrgDomainController,
            OrgIdentityProviderController,
            SsoPolicyController,
            SsoLinkController,
            PlatformIdentityProviderController,
            SsoLogoutController,
            SsoSignInController,
        ],
        root_route_handlers=[jwks, *PAGE_HANDLERS],
        permissions=PERMISSIONS,
        cli_commands=[keys, users, domains, sso],
        jobs=[prune_expired_rows, purge_organisations, refresh_sso_discovery],
        periodic=[PRUNE_HOURLY, PURGE_ORGANISATIONS, REFRESH_SSO_DISCOVERY_DAILY],
        on_startup=[start],
        interfaces=(
            describe("identity", IdentityApi, "identity_api"),
            describe("identity", IdentityAuthentication, "identity_authentication"),
            describe("identity", IdentityConfigApi, "identity_config"),
            describe("identity", PersonalDataApi, "identity_personal_data"),
        ),
        personal_data="identity_personal_data",
        secrets="identity_secret_rotation",
        subscriptions=[Subscription(UserErased, on_user_erased, name="identity.user_erased")],
        on_remote=use_remote,
    )


def use_remote(
    kernel: Kernel,
    *,
    identity_api: IdentityApi,
    identity_authentication: IdentityAuthentication,
) -> None:
    """Where identity runs elsewhere: the kernel's authenticator and tenancy rule ask it
    over HTTP what they ask its services in process (public keys, API keys, memberships)."""

    async def membership(principal: Principal, organisation_id: uuid.UUID) -> Membership | None:
        # The rule of AccessService.membership: a key bound to another organisation sees none.
        if principal.organisation_id is not None and principal.organisation_id != organisation_id:
            return None
        return await identity_api.membership(
            organisation_id, principal.user_id, api_key_id=principal.api_key_id
        )

    async def api_key(key: str, client_ip: str) -> Principal | None:
        holder = await identity_authentication.api_key_holder(key, client_ip)
        if holder is None:
            return None
        return Principal(
            user_id=holder.user_id,
            api_key_id=holder.api_key_id,
            organisation_id=holder.organisation_id,
            amr=("key",),
        )

    kernel.tenancy.use(membership)
    kernel.security.use_api_keys(api_key)
    kernel.security.verifier.use_key_loader(identity_authentication.verification_keys)
