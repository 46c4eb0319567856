"""Rules of conversations, without I/O: what a conversation may be made of, what a message
may say, who may change whom, and how a message shows to one reader.

* A **direct** conversation is exactly two members of one organisation, one per pair: it is
  keyed by the sorted pair, so asking for it again (or twice at once) finds the same one.
* A **group** has a title (optional) and participants; its **admins** (the creator, and
  whoever an admin adds as admin) add and remove people; anyone may leave. When the last
  admin leaves, the longest-standing participant becomes admin, so a group never ends up
  without one.
* A message is **plain text**, stored exactly as sent (at most ``MAX_BODY`` characters, no
  NUL): clients show it as text (never as HTML or Markdown), which is what keeps it safe.
  It may attach up to ``MAX_ATTACHMENTS`` documents the sender may read.
* Only the sender edits or deletes a message; a deleted message stays as a **tombstone**
  (``deleted`` true, empty text, no attachments) so replies keep their place.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from hub.kernel.errors import Conflict, Forbidden
from hub.kernel.problems import field_invalid, refusal

#: A tombstone takes no edit, reaction, pin or reply.
message_deleted = refusal(Conflict, "The message was deleted.", code="message_deleted")

Kind = Literal["direct", "group"]
Role = Literal["admin", "member"]
ADMIN: Role = "admin"
MEMBER: Role = "member"

MAX_BODY = 10_000
MAX_TITLE = 200
MAX_ATTACHMENTS = 10
#: Participants of a group, the creator included.
MAX_PARTICIPANTS = 256
#: A reaction's name: what the frontend draws as an emoji (``thumbsup``, ``+1``, ``tada``).
REACTION_PATTERN = r"^[a-z0-9_+-]{1,32}$"
#: Different reactions one message may carry.
MAX_REACTIONS = 20
#: Pinned messages per conversation (Slack keeps 100, Teams 3; a list to read, not an archive).
MAX_PINS = 50
#: Characters of a message search (``GET /conversations/search?q=``).
MAX_SEARCH = 200


def no_nul(value: str, field: str) -> str:
    """PostgreSQL text cannot hold NUL, and no client means to send one: a 422."""
    if "\x00" in value:
        raise field_invalid(field, "must not contain NUL characters", code="invalid_text")
    return value


def check_body(body: str, *, attachments: int) -> str:
    """The text of a message, as sent: at most ``MAX_BODY`` characters; blank only when
    the message carries attachments."""
    no_nul(body, "body")
    if len(body) > MAX_BODY:
        raise field_invalid("body", f"at most {MAX_BODY} characters", code="too_long")
    if not body.strip() and not attachments:
        raise field_invalid("body", "write something or attach a document", code="empty")
    return body


def check_title(title: str | None) -> str | None:
    if title is None:
        return None
    no_nul(title, "title")
    title = title.strip()
    if not title:
        raise field_invalid("title", "must not be blank")
    if len(title) > MAX_TITLE:
        raise field_invalid("title", f"at most {MAX_TITLE} characters", code="too_long")
    return title


def check_attachments(ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Each document once, in the order given."""
    unique = list(dict.fromkeys(ids))
    if len(unique) > MAX_ATTACHMENTS:
        raise field_invalid(
            "attachments", f"at most {MAX_ATTACHMENTS} documents", code="too_many_attachments"
        )
    return unique


def direct_pair(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """The key of the direct conversation of two people (the smaller id first)."""
    return (a, b) if a < b else (b, a)


@dataclass(frozen=True)
class Plan:
    """What ``POST /conversations`` asked for, decided."""

    kind: Kind
    title: str | None
    #: Everyone in it, the creator first, each once.
    participants: list[uuid.UUID]


def plan(
    creator: uuid.UUID,
    participant_ids: Sequence[uuid.UUID],
    *,
    kind: Kind | None,
    title: str | None,
) -> Plan:
    """Direct when asked, or by default when one other person and no title are given;
    a group otherwise. The creator is always a participant (naming them is allowed)."""
    others = [u for u in dict.fromkeys(participant_ids) if u != creator]
    title = check_title(title)
    if not others:
        raise field_invalid(
            "participantIds", "name at least one other member", code="no_participants"
        )
    chosen: Kind = kind or ("direct" if len(others) == 1 and title is None else "group")
    if chosen == "direct":
        if len(others) != 1:
            raise field_invalid(
                "participantIds",
                "a direct conversation is with exactly one other member",
                code="direct_needs_one",
            )
        if title is not None:
            raise field_invalid("title", "a direct conversation has no title")
    elif len(others) + 1 > MAX_PARTICIPANTS:
        raise field_invalid(
            "participantIds",
            f"at most {MAX_PARTICIPANTS} participants, you included",
            code="too_many_participants",
        )
    return Plan(kind=chosen, title=title, participants=[creator, *others])


def check_may_change_people(
    kind: str, actor_role: str, actor: uuid.UUID, target: uuid.UUID | None
) -> None:
    """Adding (``target`` None) or removing people: only in groups, only by an admin,
    except that anyone may remove themselves (leave)."""
    if kind == "direct":
        raise Conflict(
            "A direct conversation is always between the same two people.",
            code="direct_conversation",
        )
    if target is not None and target == actor:
        return
    if actor_role != ADMIN:
        raise Forbidden(
            "Only the group's admins add or remove people.", code="not_conversation_admin"
        )


#: The ``muted_until`` of a conversation muted until its participant unmutes it.
MUTED_FOREVER = datetime(9999, 12, 31, tzinfo=UTC)


def check_mute_until(until: datetime | None, now: datetime) -> datetime:
    """When a mute ends: ``until`` (in the future, else 422 naming ``until``) or never."""
    if until is None:
        return MUTED_FOREVER
    if until <= now:
        raise field_invalid("until", "must be in the future (leave it out to mute until unmuted)")
    return until


def is_muted(muted_until: datetime | None, now: datetime) -> bool:
    return muted_until is not None and muted_until > now


def check_may_rename(kind: str, actor_role: str) -> None:
    """A title is a group's, and its admins change it."""
    if kind == "direct":
        raise Conflict("A direct conversation has no title.", code="direct_conversation")
    if actor_role != ADMIN:
        raise Forbidden("Only the group's admins change its title.", code="not_conversation_admin")


def check_own_message(sender_id: uuid.UUID, actor: uuid.UUID, deleted: bool) -> None:
    if sender_id != actor:
        raise Forbidden("Only the sender changes a message.", code="not_your_message")
    if deleted:
        raise message_deleted()


def search_text(q: str) -> str:
    """A message search as matched, blanks folded: 422 naming ``q`` when nothing is left."""
    cleaned = " ".join(q.split())
    if not cleaned:
        raise field_invalid("q", "Type something to search for.", source="query")
    return cleaned
