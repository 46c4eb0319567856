"""Per-process state of identity: the hasher, key ring, throttle and mailer every use case
shares, built once at start-up and carried by the kernel (``kernel.extensions``)."""

from __future__ import annotations

from dataclasses import dataclass

from hub.identity.domain.secrets import Sealer, derive_key
from hub.identity.models import outbox
from hub.identity.services.keys import KeyRing
from hub.identity.services.mail import IdentityMail
from hub.identity.services.passwords import PasswordHasher
from hub.identity.services.throttle import Throttle
from hub.identity.services.tokens import AccessTokens
from hub.kernel.db import UnitOfWork
from hub.kernel.runtime import Kernel


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from, as recorded on sessions and used by the IP counters."""

    ip: str
    user_agent: str


class IdentityRuntime:
    def __init__(self, kernel: Kernel) -> None:
        settings = kernel.settings
        secret = settings.secret_key.encode()
        self.kernel = kernel
        self.settings = settings
        self.db = kernel.db
        self.redis = kernel.redis
        self.hasher = PasswordHasher(settings)
        self.keys = KeyRing(kernel.db, settings)
        self.tokens = AccessTokens(self.keys, settings)
        self.throttle = Throttle(kernel.redis, settings)
        self.mail = IdentityMail(settings)
        self.revocations = kernel.security.revocations
        self.verifier = kernel.security.verifier
        self.totp_sealer = Sealer(secret, "totp-secrets")
        self.recovery_key = derive_key(secret, "recovery-codes")
        self.binding_key = derive_key(secret, "password-binding")

    def uow(self) -> UnitOfWork:
        return self.db.unit_of_work(outbox)
