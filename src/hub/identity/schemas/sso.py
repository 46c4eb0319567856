"""HTTP bodies of single sign-on: identity providers as administrators see them (the
client secret is write-only: no answer carries it), the SSO policy of an organisation,
and the answers of a sign-in's callback."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hub.identity.schemas import Code, Secret, Token
from hub.kernel.structs import PatchSchema, Schema

ProviderName = Annotated[str, Meta(min_length=1, max_length=200)]
Issuer = Annotated[str, Meta(min_length=1, max_length=2000)]
ClientValue = Annotated[str, Meta(min_length=1, max_length=1000)]
Domain = Annotated[str, Meta(min_length=1, max_length=253)]
Domains = Annotated[list[Domain], Meta(max_length=50)]

_EXAMPLE: dict[str, Any] = {
    "name": "Acme Entra ID",
    "issuer": "https://login.acme.example/v2.0",
    "clientId": "hub-acme",
    "clientSecret": "s3cr3t-from-the-provider",
    "emailDomains": ["acme.example"],
}


class IdentityProviderIn(Schema):
    example: ClassVar[dict[str, Any]] = _EXAMPLE

    name: ProviderName
    #: The issuer identifier; ``{issuer}/.well-known/openid-configuration`` is read.
    issuer: Issuer
    client_id: ClientValue
    client_secret: ClientValue
    #: Addresses at these domains get an account (and membership) on first sign-in.
    email_domains: Domains = []
    #: The role of members made on first sign-in (organisation providers); null: member.
    default_role_id: uuid.UUID | None = None
    enabled: bool = True


class IdentityProviderPatch(PatchSchema):
    example: ClassVar[dict[str, Any]] = {"clientSecret": "rotated-secret", "enabled": False}

    name: ProviderName | UnsetType = UNSET
    issuer: Issuer | UnsetType = UNSET
    client_id: ClientValue | UnsetType = UNSET
    client_secret: ClientValue | UnsetType = UNSET
    email_domains: Domains | UnsetType = UNSET
    default_role_id: uuid.UUID | UnsetType | None = UNSET
    enabled: bool | UnsetType = UNSET


class IdentityProviderOut(Schema):
    id: uuid.UUID
    #: Null for a platform provider.
    organisation_id: uuid.UUID | None
    name: str
    issuer: str
    client_id: str
    email_domains: list[str]
    default_role_id: uuid.UUID | None
    enabled: bool
    #: Register this redirect URI with the provider.
    redirect_uri: str
    #: Register this back-channel logout URI with the provider (sessions end when a
    #: person signs out there).
    backchannel_logout_uri: str
    #: Of ``emailDomains``, those the organisation has not proved (``/orgs/{orgId}/domains``):
    #: the provider makes no accounts there. Empty for a platform provider.
    unverified_domains: list[str]
    created_at: datetime
    updated_at: datetime


class LogoutTokenIn(msgspec.Struct, kw_only=True):
    """Back-Channel Logout 1.0, 2.5: a form field (``application/x-www-form-urlencoded``),
    named in snake case by the specification."""

    example: ClassVar[dict[str, Any]] = {"logout_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}

    logout_token: Annotated[str, Meta(min_length=1, max_length=16384)]


class OrgDomainIn(Schema):
    example: ClassVar[dict[str, Any]] = {"domain": "acme.example"}

    domain: Domain


class OrgDomainOut(Schema):
    id: uuid.UUID
    #: Lower-case, in its Unicode form.
    domain: str
    verified: bool
    verified_at: datetime | None
    #: Publish a TXT record at this name holding ``recordValue``, then verify.
    record_name: str
    record_value: str
    created_at: datetime


class SsoPolicyIn(Schema):
    example: ClassVar[dict[str, Any]] = {"required": True}

    #: Members (owners excepted) may then sign in only through the organisation's providers.
    required: bool


class SsoPolicyOut(Schema):
    required: bool
    updated_at: datetime | None


class SsoLinkRequiredOut(Schema, tag="link_required", tag_field="status"):
    """An account already uses the address the provider verified: its owner confirms the
    link with ``POST /auth/sso/link`` (the account's password) before it is used."""

    link_token: str
    email: str
    expires_in: int


class SsoLogoutOut(Schema):
    """The hub session has ended; send the browser to ``endSessionUrl`` (when not null) to
    end the identity provider's session too."""

    end_session_url: str | None


class SsoLinkIn(Schema):
    example: ClassVar[dict[str, Any]] = {
        "linkToken": "hub_ssl_Jm5o0XrKq9b2",
        "password": "correct horse battery staple",
    }

    link_token: Token
    password: Secret
    code: Code | None = None
    recovery_code: Code | None = None


class SsoLinkOut(Schema):
    """An identity provider the caller's account is linked to."""

    id: uuid.UUID
    provider_id: uuid.UUID
    provider_name: str
    issuer: str
    #: The provider's organisation; None for a platform provider.
    organisation_id: uuid.UUID | None
    #: The provider's identifier of the person (the ID token's ``sub``).
    subject: str
    linked_at: datetime
