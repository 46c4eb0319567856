"""HTTP bodies of identity. Input structs name only what a client may set: roles,
flags, ids and verification state are absent, so they cannot be mass-assigned.

This module holds the bodies of accounts, sessions and MFA; organisations, API keys and
platform administration have their own modules beside it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hub.identity.domain.accounts import MAX_DISPLAY_NAME
from hub.kernel.structs import PatchSchema, Schema

Email = Annotated[str, Meta(min_length=1, max_length=320)]
Secret = Annotated[str, Meta(min_length=1, max_length=4096)]
Token = Annotated[str, Meta(min_length=1, max_length=512)]
Code = Annotated[str, Meta(min_length=1, max_length=64)]
#: The display name's limit counts characters after collapsing whitespace; the document
#: states it on the raw text (a longer one is a 400, a blank one a 422).
Name = Annotated[str, Meta(min_length=1, max_length=MAX_DISPLAY_NAME)]


class RegisterIn(Schema):
    example: ClassVar[dict[str, Any]] = {
        "email": "ada@example.com",
        "password": "correct horse battery staple",
        "displayName": "Ada Lovelace",
    }

    email: Email
    password: Secret
    display_name: Name


class Accepted(Schema):
    """The same body whatever happened behind it (no account enumeration)."""

    status: str
    detail: str


class TokenIn(Schema):
    example: ClassVar[dict[str, Any]] = {"token": "hub_et_6nVq2bq2v0m8W1o5rQ3yXk"}

    token: Token


class Done(Schema):
    status: str


class LoginIn(Schema):
    example: ClassVar[dict[str, Any]] = {
        "email": "ada@example.com",
        "password": "correct horse battery staple",
    }

    email: Email
    password: Secret


class TokensOut(Schema, tag="authenticated", tag_field="status"):
    """Signed in: an access token for ``Authorization: Bearer`` and a refresh token."""

    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    session_id: uuid.UUID
    user_id: uuid.UUID
    token_type: str = "Bearer"  # noqa: S105


class MfaRequiredOut(Schema, tag="mfa_required", tag_field="status"):
    """The password was right; answer ``mfaToken`` with a code at /auth/mfa/verify."""

    mfa_token: str
    expires_in: int
    methods: list[str]


class MfaVerifyIn(Schema):
    example: ClassVar[dict[str, Any]] = {"mfaToken": "hub_mfa_3Qm1rX8w", "code": "123456"}

    mfa_token: Token
    code: Code | None = None
    recovery_code: Code | None = None


class RefreshIn(Schema):
    example: ClassVar[dict[str, Any]] = {"refreshToken": "hub_rt_Jm5o0XrKq9b2"}

    refresh_token: Token


class ForgotIn(Schema):
    example: ClassVar[dict[str, Any]] = {"email": "ada@example.com"}

    email: Email


class ResendVerificationIn(Schema):
    example: ClassVar[dict[str, Any]] = {"email": "ada@example.com"}

    email: Email


class ResetIn(Schema):
    example: ClassVar[dict[str, Any]] = {
        "token": "hub_et_6nVq2bq2v0m8W1o5rQ3yXk",
        "newPassword": "a new and long passphrase",
    }

    token: Token
    new_password: Secret


class ChangePasswordIn(Schema):
    example: ClassVar[dict[str, Any]] = {
        "currentPassword": "correct horse battery staple",
        "newPassword": "a new and long passphrase",
        "endOtherSessions": True,
    }

    current_password: Secret
    new_password: Secret
    end_other_sessions: bool = True


class PasswordChangedOut(Schema):
    sessions_ended: int


class ReauthenticateIn(Schema):
    example: ClassVar[dict[str, Any]] = {"password": "correct horse battery staple"}

    password: Secret
    code: Code | None = None
    recovery_code: Code | None = None


class AccessTokenOut(Schema):
    access_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105


class AccountFields(Schema):
    """What every answer about an account starts with (``MeOut``, ``UserOut``)."""

    id: uuid.UUID
    email: str
    display_name: str
    email_verified: bool
    mfa_enabled: bool
    is_platform_admin: bool


class MeOut(AccountFields):
    created_at: datetime


class MePatch(PatchSchema):
    """Changing ``email`` needs a recent sign-in and takes effect once the new address
    confirms it (a link is sent there); until then the account keeps its address."""

    example: ClassVar[dict[str, Any]] = {"displayName": "Ada King"}

    display_name: Name | UnsetType = UNSET
    email: Email | UnsetType = UNSET


class SessionOut(Schema):
    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    auth_time: datetime
    methods: list[str]
    user_agent: str
    #: The browser and system the User-Agent names ("Firefox on Windows"; "Unknown
    #: device"): what the client claims, to help a person recognise their sessions.
    device: str
    ip: str
    current: bool
    #: When the session ends however active it is (HUB_SESSION_MAX_AGE_SECONDS after
    #: sign-in).
    expires_at: datetime
    #: When it ends unless refreshed before (HUB_SESSION_IDLE_TIMEOUT_SECONDS after its
    #: last refresh); the earlier of the two is when the device must sign in again.
    idle_expires_at: datetime


class SessionsEndedOut(Schema):
    sessions_ended: int


class TotpSetupOut(Schema):
    secret: str
    otpauth_uri: str


class CodeIn(Schema):
    example: ClassVar[dict[str, Any]] = {"code": "123456"}

    code: Code


class RecoveryCodesOut(Schema):
    recovery_codes: list[str]


class Jwks(msgspec.Struct):
    keys: list[dict[str, Any]]
