"""HTTP bodies of passkeys (WebAuthn). ``publicKey`` is what the browser hands to
``navigator.credentials.create()`` / ``.get()`` (with base64url for binary fields, as
``PublicKeyCredential.parseCreationOptionsFromJSON`` reads it); ``credential`` is the
browser's answer as ``PublicKeyCredential.toJSON()`` writes it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

from msgspec import Meta

from hub.identity.schemas import Token
from hub.kernel.structs import Schema

#: 100 characters after collapsing whitespace, stated on the raw text.
PasskeyName = Annotated[str, Meta(min_length=1, max_length=200)]
#: The browser's answer: a JSON object with ``id``, ``rawId``, ``type`` and ``response``.
Credential = Annotated[dict[str, Any], Meta(max_length=16)]

_CREDENTIAL_EXAMPLE = {
    "id": "3q2-7w",
    "rawId": "3q2-7w",
    "type": "public-key",
    "response": {
        "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0",
        "authenticatorData": "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ",
        "signature": "MEUCIQ",
        "userHandle": "AZXa",
    },
    "clientExtensionResults": {},
}


class PasskeyOptionsOut(Schema):
    """Start of a ceremony: send ``challengeId`` back with the authenticator's answer."""

    challenge_id: str
    public_key: dict[str, Any]


class PasskeyRegisterIn(Schema):
    example: ClassVar[dict[str, Any]] = {
        "challengeId": "hub_pkc_Jm5o0XrKq9b2",
        "name": "Ada's phone",
        "credential": {
            "id": "3q2-7w",
            "rawId": "3q2-7w",
            "type": "public-key",
            "response": {"clientDataJSON": "eyJ0", "attestationObject": "o2Nm"},
        },
    }

    challenge_id: Token
    name: PasskeyName
    credential: Credential


class PasskeyPatch(Schema):
    example: ClassVar[dict[str, Any]] = {"name": "YubiKey 5C"}

    name: PasskeyName


class PasskeyOut(Schema):
    id: uuid.UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None
    #: How the authenticator talks to the browser ("internal", "hybrid", "usb" …).
    transports: list[str]
    #: A synced passkey (it lives on several devices of the user's account).
    multi_device: bool
    backed_up: bool


class PasskeyAssertionIn(Schema):
    example: ClassVar[dict[str, Any]] = {
        "challengeId": "hub_pkc_Jm5o0XrKq9b2",
        "credential": _CREDENTIAL_EXAMPLE,
    }

    challenge_id: Token
    credential: Credential


class MfaPasskeyOptionsIn(Schema):
    example: ClassVar[dict[str, Any]] = {"mfaToken": "hub_mfa_3Qm1rX8w"}

    mfa_token: Token


class MfaPasskeyIn(Schema):
    example: ClassVar[dict[str, Any]] = {
        "mfaToken": "hub_mfa_3Qm1rX8w",
        "challengeId": "hub_pkc_Jm5o0XrKq9b2",
        "credential": _CREDENTIAL_EXAMPLE,
    }

    mfa_token: Token
    challenge_id: Token
    credential: Credential
