"""Permission keys workflow adds to the catalogue (``GET /permissions``).

Built-in roles are patterns: owners and admins hold every key at once; the built-in member
role holds ``*.read`` keys, so members read instances (of subjects they may read)."""

from __future__ import annotations

DEFINITIONS_MANAGE = "workflow.definitions.manage"
DEFINITIONS_READ = "workflow.definitions.read"
INSTANCES_READ = "workflow.instances.read"
INSTANCES_START = "workflow.instances.start"
INSTANCES_CANCEL = "workflow.instances.cancel"

PERMISSIONS: tuple[tuple[str, str], ...] = (
    (DEFINITIONS_MANAGE, "Publish new versions of the organisation's workflow definitions"),
    (DEFINITIONS_READ, "Read the organisation's workflow definitions and their versions"),
    (INSTANCES_READ, "Read workflow instances and their history (subjects the caller may read)"),
    (INSTANCES_START, "Start workflow instances by hand"),
    (INSTANCES_CANCEL, "Cancel running workflow instances"),
)

TASKS_MANAGE = "workflow.tasks.manage"
INCIDENTS_MANAGE = "workflow.incidents.manage"
MESSAGES_CORRELATE = "workflow.messages.correlate"
PERMISSIONS = (
    *PERMISSIONS,
    (
        MESSAGES_CORRELATE,
        "Send messages to running workflow instances (an outside system's answer)",
    ),
    (TASKS_MANAGE, "Hand any of the organisation's workflow tasks over to another member"),
    (
        INCIDENTS_MANAGE,
        "See the organisation's failed workflow effects (incidents) and run them again",
    ),
)
