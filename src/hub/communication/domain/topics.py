"""Topics: named groups of members a notification can be sent to (Novu's topics), beside
users, roles, a permission and everyone.

A role says what someone may do; a topic says what they want to hear about ("tender
ACME-42", "night shift"), so members join and leave topics themselves and an
organisation's managers may add or remove them. A send names topics by key; it reaches
their subscribers who are members when it goes out (someone who left the organisation is
never reached, whatever their subscription says).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub.communication.domain.org_categories import KEY_PATTERN, MAX_KEY
from hub.kernel.problems import field_invalid

MAX_NAME = 100
MAX_DESCRIPTION = 500
#: Topics one organisation may define.
MAX_TOPICS = 200
#: Topics one send may name.
MAX_TOPICS_PER_SEND = 20

__all__ = ["KEY_PATTERN", "MAX_KEY", "TopicDraft", "check_key", "check_topic"]

_KEY = re.compile(KEY_PATTERN)


@dataclass(frozen=True)
class TopicDraft:
    key: str
    name: str
    description: str = ""


def check_key(key: str) -> str:
    """A topic key where no request schema checked it (configuration: a domain pack)."""
    if not _KEY.match(key) or len(key) > MAX_KEY:
        raise field_invalid(
            "key", f"lower-case words joined by hyphens, at most {MAX_KEY} characters"
        )
    return key


def check_topic(draft: TopicDraft) -> TopicDraft:
    """The draft with its name and description trimmed; 422 naming the field otherwise
    (the key's pattern is the request schema's)."""
    name = " ".join(draft.name.split())
    if not name or len(name) > MAX_NAME:
        raise field_invalid("name", f"1 to {MAX_NAME} characters")
    description = draft.description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise field_invalid("description", f"at most {MAX_DESCRIPTION} characters")
    return TopicDraft(draft.key, name, description)
