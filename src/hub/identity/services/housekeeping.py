"""Deleting identity rows that can no longer matter, so its tables stop growing.

Each rule keeps a row as long as anything could still act on it:
- refresh tokens: until a day after they expire (a rotated token must stay findable while
  it could still be presented, so reuse is detected and revokes its family);
- sessions: a revoked one for ``HUB_IDENTITY_HISTORY_DAYS`` (audit questions come first);
  a live one whose newest refresh token expired a day ago is dead and goes too;
- email tokens (verification, reset): a day after they expire, used or not;
- invitations: ``HUB_IDENTITY_HISTORY_DAYS`` after they expire, accepted or not;
- API keys: ``HUB_IDENTITY_HISTORY_DAYS`` after they were revoked or expired (a key that
  can no longer be used stays listed that long, for "which key did this?").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, or_, select

from hub.identity.models import ApiKey, EmailToken, Invitation, RefreshToken, Session
from hub.kernel.clock import Clock
from hub.kernel.store import Store

#: Expired tokens stay a day, so one presented just after expiry still meets its row.
GRACE = timedelta(days=1)


@dataclass(frozen=True)
class Pruned:
    refresh_tokens: int
    sessions: int
    email_tokens: int
    invitations: int
    api_keys: int


class Housekeeping:
    def __init__(self, store: Store, clock: Clock, *, history_days: int) -> None:
        self.store = store
        self.clock = clock
        self.history_days = history_days

    async def prune(self) -> Pruned:
        """Delete what no longer matters, in one transaction."""
        return await prune_expired(self.store, self.clock(), history_days=self.history_days)


async def prune_expired(store: Store, now: datetime, *, history_days: int) -> Pruned:
    grace, history = now - GRACE, now - timedelta(days=history_days)
    async with store.uow() as uow:
        conn = uow.session
        tokens = await conn.execute(delete(RefreshToken).where(RefreshToken.expires_at < grace))
        has_token = exists(select(RefreshToken.id).where(RefreshToken.session_id == Session.id))
        sessions = await conn.execute(
            delete(Session).where(
                or_(
                    Session.revoked_at < history,
                    # alive on paper, but its last refresh token expired: nobody can use it
                    Session.revoked_at.is_(None) & (Session.created_at < grace) & ~has_token,
                )
            )
        )
        email = await conn.execute(delete(EmailToken).where(EmailToken.expires_at < grace))
        invitations = await conn.execute(delete(Invitation).where(Invitation.expires_at < history))
        keys = await conn.execute(
            delete(ApiKey).where(or_(ApiKey.revoked_at < history, ApiKey.expires_at < history))
        )
        await uow.commit()
    return Pruned(
        refresh_tokens=_count(tokens),
        sessions=_count(sessions),
        email_tokens=_count(email),
        invitations=_count(invitations),
        api_keys=_count(keys),
    )


def _count(result: Any) -> int:
    return int(result.rowcount or 0)
