"""Identity's event handlers: the end of an erasure in its own outbox."""

from __future__ import annotations

from hub.identity.api import UserErased
from hub.identity.services.personal_data import forget_erased_events
from hub.kernel.db import UnitOfWork


async def on_user_erased(event: UserErased, uow: UnitOfWork) -> None:
    """Delete identity's published events naming the erased person (the outbox keeps
    published rows), the erasure event included."""
    await forget_erased_events(uow, event)
