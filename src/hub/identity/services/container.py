"""All of identity's use cases for one process, wired once at start-up."""

from __future__ import annotations

from typing import Any

from hub.identity.services.access import AccessService
from hub.identity.services.accounts import AccountService
from hub.identity.services.admin import AdminService
from hub.identity.services.apikeys import ApiKeyService
from hub.identity.services.auth import AuthService
from hub.identity.services.invitations import InvitationService
from hub.identity.services.members import MemberService
from hub.identity.services.mfa import MfaService
from hub.identity.services.orgs import OrganisationService
from hub.identity.services.roles import RoleService
from hub.identity.services.runtime import IdentityRuntime
from hub.identity.services.sessions import SessionService
from hub.kernel.idempotency import IdempotentWrites
from hub.kernel.runtime import Kernel
from hub.kernel.security import ClientAddress

EXTENSION_KEY = "identity"


class Identity:
    def __init__(self, kernel: Kernel) -> None:
        self.rt = IdentityRuntime(kernel)
        self.sessions = SessionService(self.rt)
        self.mfa = MfaService(self.rt)
        self.auth = AuthService(self.rt, self.sessions, self.mfa)
        self.accounts = AccountService(self.rt, self.sessions, self.auth)
        self.access = AccessService(self.rt)
        self.orgs = OrganisationService(self.rt, self.access)
        self.roles = RoleService(self.rt, self.access)
        self.members = MemberService(self.rt, self.access, self.roles)
        self.invitations = InvitationService(self.rt, self.access, self.roles)
        self.api_keys = ApiKeyService(self.rt, self.access)
        self.admin = AdminService(self.rt, self.accounts)
        self.idempotency = IdempotentWrites(kernel.redis, kernel.settings.idempotency_ttl_seconds)
        self.client_address = ClientAddress(kernel.settings.trusted_proxies)

    async def public_keys(self) -> list[dict[str, Any]]:
        return await self.rt.keys.jwks()

    async def start(self) -> None:
        """Make sure a signing key exists, hand the kernel's verifier the public keys and
        its authenticator the API-key resolver."""
        await self.rt.keys.ensure()
        await self.rt.hasher.warm_up()
        self.rt.verifier.use_key_loader(self.public_keys)
        self.rt.keys.on_new_key = self.rt.verifier.reload_keys
        await self.rt.verifier.reload_keys()
        self.rt.kernel.security.use_api_keys(self.api_keys.resolve)

    async def rotate_keys(self) -> str:
        kid = await self.rt.keys.rotate()
        await self.rt.verifier.reload_keys()
        return kid

    @classmethod
    def of(cls, kernel: Kernel) -> Identity:
        identity = kernel.extensions.get(EXTENSION_KEY)
        if not isinstance(identity, Identity):
            identity = kernel.extensions[EXTENSION_KEY] = cls(kernel)
        return identity
