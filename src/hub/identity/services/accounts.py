"""Accounts from the operators' side: finding one by address, disabling one (its sessions
and API keys end with it), enabling it again."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from hub.identity.api import UserDisabled, UserEnabled
from hub.identity.domain.emails import normalise_email
from hub.identity.models import User
from hub.identity.repositories.users import user_by_email
from hub.identity.services.apikeys import revoke_all_api_keys
from hub.identity.services.invitation_standing import withdraw_all_of
from hub.identity.services.sessions import SessionService
from hub.kernel.clock import Clock
from hub.kernel.store import Store


@dataclass(eq=False)
class AccountService:
    store: Store
    sessions: SessionService
    clock: Clock

    async def find_by_email(self, email: str) -> Any:
        """The account using ``email`` (any spelling of it), or None."""
        return await user_by_email(self.store, normalise_email(email))

    async def disable_user(self, user_id: uuid.UUID, *, actor_id: uuid.UUID | None) -> int:
        """Disable an account, end every one of its sessions and revoke its API keys at
        once (enabling it again restores neither: the person signs in, keys are re-made)."""
        async with self.store.uow() as uow:
            changed = await uow.session.execute(
                update(User)
                .where(User.id == user_id, User.disabled_at.is_(None))
                .values(disabled_at=self.clock())
                .returning(User.id)
            )
            if changed.first() is None:
                return 0
            ended = await self.sessions.revoke_where(uow, user_id=user_id, reason="user_disabled")
            await revoke_all_api_keys(uow, user_id, actor_id=actor_id, now=self.clock())
            await withdraw_all_of(uow, user_id, self.clock(), actor_id=actor_id)
            uow.publish(
                UserDisabled(
                    actor_id=actor_id,
                    user_id=user_id,
                    sessions_ended=len(ended),
                )
            )
            await uow.commit()
        await self.sessions.stop_access_tokens(ended)
        return len(ended)

    async def enable_user(self, user_id: uuid.UUID, *, actor_id: uuid.UUID | None) -> bool:
        """Let a disabled account sign in again; whether it was disabled. Its old sessions
        and API keys stay ended: the person signs in afresh and makes new keys."""
        async with self.store.uow() as uow:
            changed = await uow.session.execute(
                update(User)
                .where(User.id == user_id, User.disabled_at.is_not(None))
                .values(disabled_at=None)
                .returning(User.id)
            )
            if changed.first() is None:
                return False
            uow.publish(UserEnabled(actor_id=actor_id, user_id=user_id))
            await uow.commit()
        return True
