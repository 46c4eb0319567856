"""A software WebAuthn authenticator (and the browser around it) for the passkey tests.

It performs the real ceremonies: an EC P-256 key per credential, "none" attestation
(CBOR attestation object with the COSE public key), authenticator data with the RP id
hash, the user-present and user-verified flags and a signature counter, and ECDSA-SHA256
signatures over ``authenticatorData || SHA-256(clientDataJSON)``. Its answers are JSON as
``PublicKeyCredential.toJSON()`` writes them, so they go to the API unchanged.

Nothing here trusts the server: it signs whatever challenge the options carry, with the
origin it is told the page has, which is how the tests produce a phishing page's answer
(another origin) or a cloned authenticator's (a copy with the counter of its time).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from tests.integration.identity.support import PASSKEYS

_UP, _UV, _AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class _Credential:
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    counter: int = 0


@dataclass
class SoftAuthenticator:
    """One authenticator holding discoverable credentials, used from ``origin``."""

    origin: str
    #: Whether it verifies its user (PIN/biometrics); a bare security key would not.
    verifies_user: bool = True
    credentials: dict[bytes, _Credential] = field(default_factory=dict)

    def _flags(self) -> int:
        return _UP | (_UV if self.verifies_user else 0)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": challenge,
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode()

    def create(self, options: dict[str, Any], *, origin: str | None = None) -> dict[str, Any]:
        """``navigator.credentials.create({publicKey: options})``."""
        rp_id = options["rp"]["id"]
        excluded = {unb64url(c["id"]) for c in options.get("excludeCredentials", [])}
        assert not excluded & set(self.credentials), "already registered here"
        credential_id = os.urandom(32)
        key = ec.generate_private_key(ec.SECP256R1())
        self.credentials[credential_id] = _Credential(
            key=key, rp_id=rp_id, user_handle=unb64url(options["user"]["id"])
        )
        numbers = key.public_key().public_numbers()
        cose_key = cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([self._flags() | _AT])
            + struct.pack(">I", 0)
            + bytes(16)  # AAGUID: none
            + struct.pack(">H", len(credential_id))
            + credential_id
            + cose_key
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return {
            "id": b64url(credential_id),
            "rawId": b64url(credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal", "hybrid"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(self, options: dict[str, Any], *, origin: str | None = None) -> dict[str, Any]:
        """``navigator.credentials.get({publicKey: options})``: the first credential the
        options allow (any of the RP's when they list none: a discoverable sign-in)."""
        rp_id = options["rpId"]
        allowed = [unb64url(c["id"]) for c in options.get("allowCredentials", [])]
        candidates = [
            cid
            for cid, cred in self.credentials.items()
            if cred.rp_id == rp_id and (not allowed or cid in allowed)
        ]
        assert candidates, "no credential for this relying party"
        credential_id = candidates[0]
        cred = self.credentials[credential_id]
        cred.counter += 1
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([self._flags()])
            + struct.pack(">I", cred.counter)
        )
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = cred.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(credential_id),
            "rawId": b64url(credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(cred.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def clone(self) -> SoftAuthenticator:
        """A copy of this authenticator as it is now (keys and counters): what an attacker
        who extracted its keys holds."""
        twin = SoftAuthenticator(origin=self.origin, verifies_user=self.verifies_user)
        twin.credentials = {
            cid: _Credential(
                key=cred.key, rp_id=cred.rp_id, user_handle=cred.user_handle, counter=cred.counter
            )
            for cid, cred in self.credentials.items()
        }
        return twin


async def register_passkey(
    client: Any, headers: dict[str, str], device: SoftAuthenticator, name: str = "Laptop"
) -> dict[str, Any]:
    """A passkey registered through the API (options, the device's answer, 201)."""
    r = await client.post(f"{PASSKEYS}/registration-options", headers=headers)
    assert r.status_code == 200, r.text
    options = r.json()
    credential = device.create(options["publicKey"])
    r = await client.post(
        PASSKEYS,
        json={"challengeId": options["challengeId"], "name": name, "credential": credential},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body
