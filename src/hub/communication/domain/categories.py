"""The categories notifications are filed under, as contexts declare them, with the
channels each is sent on unless the organisation or the user says otherwise.

A category is the unit of preference: a member turns ``documents`` e-mail off, not one
template. Declared here (one registry, no I/O) so preferences can be checked without
asking every context; a context adding notifications adds its category line.
Organisations add their own beside these (``domain.org_categories``, stored in
``communication.organisation_categories``); every check takes the categories known to
the organisation in question, these by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hub.communication.api import (
    CATEGORY_DOCUMENTS,
    CATEGORY_GENERAL,
    CATEGORY_MESSAGES,
    CATEGORY_SECURITY,
    CATEGORY_WORKFLOW_TASKS,
)

#: Channels a notification is sent on (``chat`` and ``sms`` to the organisation's own
#: channels; a category's default leaves them off until the organisation turns them on;
#: ``push`` to the recipient's browsers, when they registered one).
SENDABLE_CHANNELS: tuple[str, ...] = ("in_app", "email", "chat", "sms", "push")
#: Channels that post to an organisation's channels, not to each recipient.
ORGANISATION_CHANNELS: tuple[str, ...] = ("chat", "sms")


#: The template channel whose text a channel sends (SMS the chat text, a push
#: notification what the inbox shows).
_TEXT_OF = {"sms": "chat", "push": "in_app"}


def text_of(channel: str) -> str:
    """The template channel whose text ``channel`` sends."""
    return _TEXT_OF.get(channel, channel)


@dataclass(frozen=True)
class Category:
    key: str
    description: str
    #: The platform default per channel (an organisation default and a user override
    #: replace it, in that order).
    defaults: dict[str, bool]
    #: The context declaring it, or ``organisation`` for one an organisation defined
    #: (``domain.org_categories``).
    declared_by: str
    #: A display name (platform categories: their key).
    name: str = ""
    #: Members cannot turn it off (their overrides are ignored; the organisation's
    #: defaults and the category's still decide).
    mandatory: bool = False


CATEGORIES: dict[str, Category] = {
    c.key: c
    for c in (
        Category(
            CATEGORY_SECURITY,
            "Sign-ins, password and second-factor changes, alerts",
            {"in_app": True, "email": True, "chat": False, "push": True},
            "identity",
        ),
        Category(
            CATEGORY_DOCUMENTS,
            "Documents shared with you or changed",
            {"in_app": True, "email": True, "chat": False},
            "content",
        ),
        Category(
            CATEGORY_WORKFLOW_TASKS,
            "Tasks assigned to you or your roles",
            {"in_app": True, "email": True, "chat": False, "push": True},
            "workflow",
        ),
        Category(
            CATEGORY_MESSAGES,
            "Messages in your conversations",
            {"in_app": True, "email": False, "chat": False, "push": True},
            "communication",
        ),
        Category(
            CATEGORY_GENERAL,
            "Announcements from your organisation",
            {"in_app": True, "email": True, "chat": False},
            "communication",
        ),
    )
}


#: Categories by key, as the checks take them (the platform's plus an organisation's).
Known = Mapping[str, Category]
