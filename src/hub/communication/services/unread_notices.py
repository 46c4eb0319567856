"""The "you have unread messages" notification: once a message from someone else has
stayed unread for ``HUB_CONVERSATION_UNREAD_NOTICE_MINUTES``, the participant gets one
notification (template ``conversation.unread``, category ``messages``) through the
ordinary sending service, so their preferences (and quiet hours) apply as to any other.

One per conversation per **unread burst**, not per message: the notice records how far it
covered (``notified_seq`` = the conversation's ``last_seq``), and a participant is told
again only once they have read at least that far (``notified_seq <= last_read_seq``) and
something new then stays unread. The claim is one ``UPDATE … RETURNING`` in the same
transaction as the notifications it creates, so two runs at once never tell anyone twice,
and a failed run tells nobody and marks nothing.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import exists, select, update

from hub.communication.api import CATEGORY_MESSAGES
from hub.communication.services import conversation_queries as q
from hub.communication.services.sending import Recipients, SendRequest, SendService
from hub.identity.api import IdentityApi
from hub.kernel.clock import Clock
from hub.kernel.store import Store

TEMPLATE = "conversation.unread"


class UnreadNotices:
    def __init__(
        self,
        store: Store,
        identity: IdentityApi,
        sending: SendService,
        clock: Clock,
        *,
        after_minutes: int,
        public_url: str,
    ) -> None:
        self.store, self.identity, self.sending, self.clock = store, identity, sending, clock
        self.after = timedelta(minutes=after_minutes)
        self.public_url = public_url.rstrip("/")

    async def run(self) -> int:
        """Tell everyone due; returns how many (participant, conversation) were told."""
        now = self.clock()
        cutoff = now - self.after
        c, p, m = q.conversations_t, q.participants_t, q.messages_t
        waiting = exists(select(m.c.id).where(q.unread_of(p, m), m.c.created_at <= cutoff))
        claim = (
            update(p)
            .where(
                c.c.id == p.c.conversation_id,
                p.c.last_read_seq < c.c.last_seq,
                p.c.notified_seq <= p.c.last_read_seq,
                q.not_muted(p, now),
                waiting,
            )
            .values(notified_seq=c.c.last_seq)
            .returning(
                p.c.conversation_id,
                p.c.user_id,
                c.c.organisation_id,
                c.c.kind,
                c.c.title,
                c.c.direct_low,
                c.c.direct_high,
            )
        )
        async with self.store.uow() as uow:
            due = (await uow.session.execute(claim)).all()
            if not due:
                return 0
            others = {
                row.direct_high if row.direct_low == row.user_id else row.direct_low
                for row in due
                if row.kind == "direct"
            }
            names = await self.identity.display_info([u for u in others if u is not None])
            for row in due:
                if row.kind == "direct":
                    other = row.direct_high if row.direct_low == row.user_id else row.direct_low
                    shown = names.get(other)
                    title = shown.display_name if shown is not None else "a direct conversation"
                else:
                    title = row.title or "a group conversation"
                await self.sending.create_in(
                    uow,
                    SendRequest(
                        organisation_id=row.organisation_id,
                        template_key=TEMPLATE,
                        recipients=Recipients(user_ids=[row.user_id]),
                        payload={
                            "conversationTitle": title,
                            "conversationUrl": self._url(row.conversation_id),
                        },
                        category=CATEGORY_MESSAGES,
                    ),
                    sender_id=None,
                )
            await uow.commit()
        return len(due)

    def _url(self, conversation_id: uuid.UUID) -> str:
        return f"{self.public_url}/conversations/{conversation_id}"
