"""A browser for the Web Push tests: a real P-256 key pair and auth secret, as
``pushManager.subscribe`` makes, and the decryption a browser does."""

from __future__ import annotations

import json
import os
from typing import Any

import http_ece
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hub.communication.domain.push import b64url
from tests.integration.communication.support_webhooks import Received


class Browser:
    """What a browser keeps of its subscription: the private half stays here."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def subscription(self, **extra: Any) -> dict[str, Any]:
        point = self.key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
            **extra,
        }

    def read(self, received: Received) -> dict[str, Any]:
        plain = http_ece.decrypt(
            received.body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
        )
        data: dict[str, Any] = json.loads(plain)
        return data
