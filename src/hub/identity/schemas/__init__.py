"""HTTP bodies of identity. Input structs name only what a client may set: roles,
flags, ids and verification state are absent, so they cannot be mass-assigned.

This module holds the bodies of accounts, sessions and MFA; organisations, API keys and
platform administration have their own modules beside it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hub.kernel.structs import PatchSchema, Schema

Email = Annotated[str, Meta(min_length=1, max_length=320)]
Secret = Annotated[str, Meta(min_length=1, max_length=4096)]
Token = Annotated[str, Meta(min_length=1, max_length=512)]
Code = Annotated[str, Meta(min_length=1, max_length=64)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]


class RegisterIn(Schema):
    email: Email
    password: Secret
    display_name: Name


class Accepted(Schema):
    """The same body whatever happened behind it (no account enumeration)."""

    status: str
    detail: str


class TokenIn(Schema):
    token: Token


class Done(Schema):
    status: str


class LoginIn(Schema):
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
    mfa_token: Token
    code: Code | None = None
    recovery_code: Code | None = None


class RefreshIn(Schema):
    refresh_token: Token


class ForgotIn(Schema):
    email: Email


class ResendVerificationIn(Schema):
    email: Email


class ResetIn(Schema):
    token: Token
    new_password: Secret


class ChangePasswordIn(Schema):
    current_password: Secret
    new_password: Secret
    end_other_sessions: bool = True


class PasswordChangedOut(Schema):
    sessions_ended: int


class ReauthenticateIn(Schema):
    password: Secret
    code: Code | None = None
    recovery_code: Code | None = None


class AccessTokenOut(Schema):
    access_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105


class MeOut(Schema):
    id: uuid.UUID
    email: str
    display_name: str
    email_verified: bool
    mfa_enabled: bool
    is_platform_admin: bool
    created_at: datetime


class MePatch(PatchSchema):
    """Changing ``email`` needs a recent sign-in and takes effect once the new address
    confirms it (a link is sent there); until then the account keeps its address."""

    display_name: Name | UnsetType = UNSET
    email: Email | UnsetType = UNSET


class SessionOut(Schema):
    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    auth_time: datetime
    methods: list[str]
    user_agent: str
    ip: str
    current: bool


class TotpSetupOut(Schema):
    secret: str
    otpauth_uri: str


class CodeIn(Schema):
    code: Code


class RecoveryCodesOut(Schema):
    recovery_codes: list[str]


class Jwks(msgspec.Struct):
    keys: list[dict[str, Any]]
