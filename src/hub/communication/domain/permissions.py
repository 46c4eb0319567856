"""Permission keys communication adds to the catalogue (``GET /permissions``).

Built-in roles are patterns: owners and admins hold every key at once; the built-in
member role holds ``*.read`` keys, so it reads the delivery log too (a custom role without
the key does not). Receiving notifications needs no permission: every member has an inbox.
"""

from __future__ import annotations

SEND = "communication.notifications.send"
TEMPLATES_MANAGE = "communication.templates.manage"
DELIVERIES_READ = "communication.audit.deliveries"
SETTINGS_MANAGE = "communication.settings.manage"
CHANNELS_MANAGE = "communication.channels.manage"
WEBHOOKS_MANAGE = "communication.webhooks.manage"
TOPICS_MANAGE = "communication.topics.manage"

PERMISSIONS: tuple[tuple[str, str], ...] = (
    (SEND, "Send notifications to members, roles or the whole organisation"),
    (TEMPLATES_MANAGE, "Create, change and preview the organisation's notification templates"),
    (DELIVERIES_READ, "Read the delivery log of the organisation's notifications"),
    (SETTINGS_MANAGE, "Set the organisation's default notification channels and locale"),
    (
        CHANNELS_MANAGE,
        "Add, change and remove the organisation's chat and SMS channels (Apprise URLs)",
    ),
    (
        TOPICS_MANAGE,
        "Create, change and delete the organisation's notification topics and add or remove "
        "their subscribers",
    ),
    (
        WEBHOOKS_MANAGE,
        "Create, change, test and delete the organisation's outbound webhooks and read their "
        "deliveries",
    ),
)
