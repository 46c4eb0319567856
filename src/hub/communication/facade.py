"""In-process implementation of :class:`hub.communication.api.CommunicationApi`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from hub.communication.api import Channel, CommunicationApi, Priority
from hub.communication.services.sending import Recipients, SendRequest, SendService


class CommunicationFacade(CommunicationApi):
    def __init__(self, sending: SendService) -> None:
        self.sending = sending

    async def notify(
        self,
        *,
        organisation_id: uuid.UUID,
        template_key: str,
        user_ids: Sequence[uuid.UUID],
        payload: Mapping[str, Any],
        category: str | None = None,
        priority: Priority = "normal",
        channels: Sequence[Channel] | None = None,
        sender_id: uuid.UUID | None = None,
        escalate_after_minutes: int | None = None,
    ) -> uuid.UUID:
        request = SendRequest(
            organisation_id=organisation_id,
            template_key=template_key,
            recipients=Recipients(user_ids=list(user_ids)),
            payload=payload,
            category=category,
            priority=priority,
            channels=channels,
            escalate_after_minutes=escalate_after_minutes,
        )
        async with self.sending.store.uow() as uow:
            sent = await self.sending.create_in(uow, request, sender_id=sender_id)
            await uow.commit()
        return sent.id
