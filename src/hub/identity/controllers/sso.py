"""Single sign-on (OpenID Connect): the identity providers of an organisation
(``identity.sso.manage``) and of the platform (platform administrators), an
organisation's SSO policy, and the sign-in itself (start, callback, link confirmation).
"""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, Response, delete, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter, SkipValidation, URLEncodedBody
from litestar.response import Redirect
from msgspec import Meta

from hub.identity.api import Membership
from hub.identity.controllers.auth import AUTH_LIMIT
from hub.identity.deps import PeopleController
from hub.identity.domain.roles import SSO_MANAGE
from hub.identity.schemas import TokensOut
from hub.identity.schemas.sso import (
    IdentityProviderIn,
    IdentityProviderOut,
    IdentityProviderPatch,
    LogoutTokenIn,
    OrgDomainIn,
    OrgDomainOut,
    SsoLinkIn,
    SsoLinkOut,
    SsoLinkRequiredOut,
    SsoLogoutOut,
    SsoPolicyIn,
    SsoPolicyOut,
)
from hub.identity.services.org_domains import OrgDomains
from hub.identity.services.sso_links import SsoLinks
from hub.identity.services.sso_logout import SsoLogout
from hub.identity.services.sso_policy import SsoPolicyService
from hub.identity.services.sso_providers import Manager, ProviderChanges, SsoProviders
from hub.identity.services.sso_sign_in import LinkOffer, SsoSignIn
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.security import Principal
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, ClientInfo, Cursor, Limit, page_as, to_schema

NO_STORE = {"Cache-Control": "no-store"}
#: What a provider sends back (``state``, ``code``, ``error``): short opaque strings.
QueryValue = Annotated[str, Meta(min_length=1, max_length=2048)]
#: Whoever manages the providers of a route (a membership, a platform administrator): a
#: union of two structs, which Litestar's signature model cannot validate, so it is not.
ManagedBy = NamedDependency[SkipValidation[Manager]]


def _changes(data: IdentityProviderPatch) -> ProviderChanges:
    sent = data.sent()
    return ProviderChanges(**sent, default_role_set="default_role_id" in sent)


def _provider_routes(base: type[Controller], scope: str, whose: str) -> type[Controller]:
    """The provider administration routes, written once for both owners of providers (an
    organisation, the platform): ``manager`` is whoever the subclass says manages them,
    and the service decides what that manager may see."""

    class ProviderRoutes(base):  # type: ignore[misc,valid-type]
        @get(operation_id=f"list{scope}IdentityProviders", summary=f"{whose} identity providers")
        async def list_providers(
            self,
            manager: ManagedBy,
            sso_providers: NamedDependency[SsoProviders],
            limit: Limit = DEFAULT_LIMIT,
            cursor: Cursor = None,
        ) -> Page[IdentityProviderOut]:
            page = await sso_providers.page(manager, limit=limit, cursor=cursor)
            return page_as(page, IdentityProviderOut)

        @post(
            operation_id=f"create{scope}IdentityProvider",
            opt=problems(422),
            summary=f"Add an OpenID Connect provider to {whose.lower()} identity providers",
            description="Reads the issuer's discovery document first (422 "
            "`issuer_discovery_failed` when it cannot be used). The client id and secret are "
            "stored encrypted; the secret is never returned. Register `redirectUri` of the "
            "answer with the provider.",
        )
        async def create_provider(
            self,
            data: JSONBody[IdentityProviderIn],
            manager: ManagedBy,
            sso_providers: NamedDependency[SsoProviders],
        ) -> IdentityProviderOut:
            view = await sso_providers.create(manager, **msgspec.structs.asdict(data))
            return to_schema(view, IdentityProviderOut)

        @get(
            "/{provider_id:uuid}",
            operation_id=f"get{scope}IdentityProvider",
            opt=problems(404),
            summary=f"One of {whose.lower()} identity providers",
        )
        async def get_provider(
            self,
            provider_id: FromPath[uuid.UUID],
            manager: ManagedBy,
            sso_providers: NamedDependency[SsoProviders],
        ) -> IdentityProviderOut:
            return to_schema(await sso_providers.get(manager, provider_id), IdentityProviderOut)

        @patch(
            "/{provider_id:uuid}",
            operation_id=f"update{scope}IdentityProvider",
            opt=problems(404, 422),
            summary=f"Change one of {whose.lower()} identity providers (a new issuer is "
            "discovered again)",
        )
        async def update_provider(
            self,
            provider_id: FromPath[uuid.UUID],
            data: JSONBody[IdentityProviderPatch],
            manager: ManagedBy,
            sso_providers: NamedDependency[SsoProviders],
        ) -> IdentityProviderOut:
            view = await sso_providers.update(manager, provider_id, _changes(data))
            return to_schema(view, IdentityProviderOut)

        @delete(
            "/{provider_id:uuid}",
            status_code=204,
            operation_id=f"delete{scope}IdentityProvider",
            opt=problems(404),
            summary=f"Remove one of {whose.lower()} identity providers (accounts linked "
            "through it stay)",
        )
        async def delete_provider(
            self,
            provider_id: FromPath[uuid.UUID],
            manager: ManagedBy,
            sso_providers: NamedDependency[SsoProviders],
        ) -> None:
            await sso_providers.delete(manager, provider_id)

    return ProviderRoutes


def _membership_manages(membership: NamedDependency[Membership]) -> Manager:
    return membership


def _principal_manages(principal: NamedDependency[Principal]) -> Manager:
    return principal


class OrgIdentityProviderController(
    _provider_routes(Controller, "Org", "The organisation's")  # type: ignore[misc]
):
    path = "/orgs/{org_id:uuid}/identity-providers"
    tags = ["Identity: single sign-on"]
    security = BEARER_OR_KEY
    guards = [permission(SSO_MANAGE)]
    dependencies = {"manager": Provide(_membership_manages, sync_to_thread=False)}


class OrgDomainController(Controller):
    """The domains an organisation proves it owns, so its providers may make accounts
    there (``identity.sso.manage``)."""

    path = "/orgs/{org_id:uuid}/domains"
    tags = ["Identity: single sign-on"]
    security = BEARER_OR_KEY
    guards = [permission(SSO_MANAGE)]

    @get(operation_id="listOrgDomains", summary="The domains the organisation claimed")
    async def list_domains(
        self,
        membership: NamedDependency[Membership],
        org_domains: NamedDependency[OrgDomains],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[OrgDomainOut]:
        return page_as(await org_domains.page(membership, limit=limit, cursor=cursor), OrgDomainOut)

    @post(
        operation_id="addOrgDomain",
        opt=problems(409, 422),
        summary="Claim a domain; the answer names the DNS TXT record that proves it",
        description="409 `domain_exists` when the organisation already claimed it. Nothing "
        "follows from a claim until `verify` finds the record.",
    )
    async def add_domain(
        self,
        data: JSONBody[OrgDomainIn],
        membership: NamedDependency[Membership],
        org_domains: NamedDependency[OrgDomains],
    ) -> OrgDomainOut:
        return to_schema(await org_domains.add(membership, data.domain), OrgDomainOut)

    @post(
        "/{domain_id:uuid}/verify",
        status_code=200,
        operation_id="verifyOrgDomain",
        opt=problems(404, 409, 503),
        summary="Look the domain's TXT record up now and, when it is there, verify the domain",
        description="409 `domain_not_verified` (with `extra.recordName` and "
        "`extra.recordValue`) while the record is not seen; 409 `domain_taken` when another "
        "organisation verified the domain first; 503 `dependency_unavailable` when no name "
        "server answered.",
    )
    async def verify_domain(
        self,
        domain_id: FromPath[uuid.UUID],
        membership: NamedDependency[Membership],
        org_domains: NamedDependency[OrgDomains],
    ) -> OrgDomainOut:
        return to_schema(await org_domains.verify(membership, domain_id), OrgDomainOut)

    @delete(
        "/{domain_id:uuid}",
        status_code=204,
        operation_id="removeOrgDomain",
        opt=problems(404),
        summary="Give a domain up: the organisation's providers stop making accounts there",
    )
    async def remove_domain(
        self,
        domain_id: FromPath[uuid.UUID],
        membership: NamedDependency[Membership],
        org_domains: NamedDependency[OrgDomains],
    ) -> None:
        await org_domains.remove(membership, domain_id)


class SsoPolicyController(Controller):
    path = "/orgs/{org_id:uuid}/sso-policy"
    tags = ["Identity: single sign-on"]
    security = BEARER_OR_KEY
    guards = [permission(SSO_MANAGE)]

    @get(operation_id="getSsoPolicy", summary="Whether the organisation requires single sign-on")
    async def get_policy(
        self,
        membership: NamedDependency[Membership],
        sso_policy: NamedDependency[SsoPolicyService],
    ) -> SsoPolicyOut:
        return to_schema(await sso_policy.get(membership), SsoPolicyOut)

    @put(
        operation_id="setSsoPolicy",
        opt=problems(409),
        summary="Require single sign-on of the organisation's members, or stop requiring it",
        description="While required, a member's password sign-in is refused with 403 "
        "`sso_required` (owners excepted: they are the way back in when the provider "
        "fails). 409 `no_identity_provider` while the organisation has no enabled provider.",
    )
    async def set_policy(
        self,
        data: JSONBody[SsoPolicyIn],
        membership: NamedDependency[Membership],
        sso_policy: NamedDependency[SsoPolicyService],
    ) -> SsoPolicyOut:
        return to_schema(await sso_policy.set(membership, required=data.required), SsoPolicyOut)


class PlatformIdentityProviderController(
    _provider_routes(PeopleController, "Platform", "The platform's")  # type: ignore[misc]
):
    """Providers anyone may sign in through (platform administrators only)."""

    path = "/identity-providers"
    tags = ["Identity: single sign-on"]
    dependencies = {"manager": Provide(_principal_manages, sync_to_thread=False)}


class SsoLinkController(PeopleController):
    """The identity providers the caller's own account is linked to."""

    path = "/auth/sso-links"
    tags = ["Identity: single sign-on"]

    @get(operation_id="listSsoLinks", summary="The identity providers your account is linked to")
    async def list_links(
        self,
        principal: NamedDependency[Principal],
        sso_links: NamedDependency[SsoLinks],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[SsoLinkOut]:
        return page_as(await sso_links.page(principal, limit=limit, cursor=cursor), SsoLinkOut)

    @delete(
        "/{link_id:uuid}",
        status_code=204,
        operation_id="removeSsoLink",
        opt=problems(404, 409),
        summary="Unlink your account from an identity provider (needs a recent sign-in)",
        description="Signing in through that provider no longer reaches this account. 403 "
        "`reauthentication_required` without a recent sign-in; 404 `sso_link_not_found`; "
        "409 `last_sign_in_method` when the account has no password, no passkey and no "
        "other link.",
    )
    async def remove_link(
        self,
        link_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        sso_links: NamedDependency[SsoLinks],
    ) -> None:
        await sso_links.remove(principal, link_id)


class SsoLogoutController(PeopleController):
    path = "/auth/sso/logout"
    tags = ["Identity: single sign-on"]

    @post(
        status_code=200,
        operation_id="ssoLogout",
        summary="End the current session, and learn where to end the provider's session too",
        description="Ends the session as POST /auth/logout does. When it was signed in "
        "through an identity provider that publishes an `end_session_endpoint`, "
        "`endSessionUrl` is that endpoint with `id_token_hint`, `client_id` and (with "
        "HUB_FRONTEND_URL set) `post_logout_redirect_uri` (OpenID Connect RP-Initiated "
        "Logout 1.0): send the browser there. Otherwise it is null.",
    )
    async def logout(
        self, principal: NamedDependency[Principal], sso_logout: NamedDependency[SsoLogout]
    ) -> Response[SsoLogoutOut]:
        url = await sso_logout.rp_initiated(principal)
        return Response(SsoLogoutOut(end_session_url=url), headers=NO_STORE)


class SsoSignInController(Controller):
    """The sign-in through a provider: no access token yet."""

    path = "/auth/sso"
    tags = ["Identity: single sign-on"]

    @get(
        "/{provider_id:uuid}/start",
        status_code=302,
        operation_id="startSso",
        opt=problems(404),
        summary="Start signing in through an identity provider (redirects to it)",
        description="Redirects the browser to the provider's authorization endpoint "
        "(authorization code flow with PKCE S256, a single-use `state` and `nonce` kept "
        "server-side for HUB_OIDC_STATE_TTL_SECONDS). 404 for an unknown or disabled provider.",
    )
    async def start(
        self, provider_id: FromPath[uuid.UUID], sso_sign_in: NamedDependency[SsoSignIn]
    ) -> Redirect:
        url = await sso_sign_in.start(provider_id)
        return Redirect(path=url, status_code=302, headers=NO_STORE)

    @post(
        "/{provider_id:uuid}/backchannel-logout",
        status_code=200,
        operation_id="ssoBackChannelLogout",
        opt={**AUTH_LIMIT, **problems(400, 404, 503)},
        summary="The provider's back-channel logout: end the sessions it names",
        description="OpenID Connect Back-Channel Logout 1.0, called by the provider (not a "
        "browser) with a form field `logout_token`: the hub sessions opened through this "
        "provider for its `sub` (or its session `sid`) end at once. 400 "
        "`logout_token_invalid` (signature, issuer, audience, age, event, nonce, replay); "
        "404 `provider_not_found`.",
    )
    async def back_channel_logout(
        self,
        provider_id: FromPath[uuid.UUID],
        data: URLEncodedBody[LogoutTokenIn],
        sso_logout: NamedDependency[SsoLogout],
    ) -> Response[None]:
        await sso_logout.back_channel(provider_id, data.logout_token)
        return Response(None, status_code=200, headers=NO_STORE)

    @get(
        "/callback",
        operation_id="ssoCallback",
        opt={**AUTH_LIMIT, **problems(401, 403, 404, 409, 503)},
        summary="The provider's redirect back: tokens, or a link to confirm",
        description="Exchanges the code, validates the ID token (signature, issuer, "
        "audience, expiry, nonce) and signs in. 401 `sso_state_invalid` (unknown, expired "
        "or replayed state), `sso_failed`, `sso_id_token_invalid`; 403 "
        "`sso_email_not_verified`, `sso_no_account`, `account_disabled`. When an account "
        "already uses the verified address, the answer is `link_required` with a token "
        "its owner confirms with POST /auth/sso/link.",
    )
    async def callback(
        self,
        oidc_state: Annotated[
            QueryValue, QueryParameter(name="state", min_length=1, max_length=2048)
        ],
        sso_sign_in: NamedDependency[SsoSignIn],
        client_info: NamedDependency[ClientInfo],
        code: Annotated[QueryValue | None, QueryParameter(min_length=1, max_length=2048)] = None,
        error: Annotated[QueryValue | None, QueryParameter(min_length=1, max_length=2048)] = None,
    ) -> Response[TokensOut | SsoLinkRequiredOut]:
        result = await sso_sign_in.callback(
            state=oidc_state, code=code, error=error, client=client_info
        )
        body: TokensOut | SsoLinkRequiredOut
        if isinstance(result, LinkOffer):
            body = SsoLinkRequiredOut(
                link_token=result.link_token, email=result.email, expires_in=result.expires_in
            )
        else:
            body = to_schema(result, TokensOut)
        return Response(body, headers=NO_STORE)

    @post(
        "/link",
        status_code=200,
        operation_id="confirmSsoLink",
        opt={**AUTH_LIMIT, **problems(401, 403, 404, 409)},
        summary="Link an identity to the existing account with its password; tokens",
        description="The account's password (and its second factor when one is on) "
        "confirms that its owner wants to sign in through this provider from now on. "
        "401 `sso_link_invalid` (expired, used, or not this account), "
        "`invalid_credentials`, `mfa_required`.",
    )
    async def confirm_link(
        self,
        data: JSONBody[SsoLinkIn],
        sso_sign_in: NamedDependency[SsoSignIn],
        client_info: NamedDependency[ClientInfo],
    ) -> TokensOut:
        issued = await sso_sign_in.confirm_link(
            data.link_token,
            data.password,
            client_info,
            code=data.code,
            recovery_code=data.recovery_code,
        )
        return to_schema(issued, TokensOut)
