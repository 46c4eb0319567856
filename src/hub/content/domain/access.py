"""Who may do what to a document: one rule, used for single documents here and mirrored
in SQL for lists and counts (``repositories.documents.readable``).

A document is reached through three doors:

* **ownership**: its owner (the uploader) may do everything but place a legal hold;
* **explicit shares** to a user or to a role, with ``view`` or ``edit`` access;
* **organisation-wide role permissions** (``content.documents.read``/``.write``/
  ``.delete``/``.share``), which do *not* open a *restricted* document: that one is
  reserved to its owner and its explicit shares.

``content.admin`` opens every document of the organisation, restricted ones included, and
alone may place or lift a legal hold. An API key acts with its owner's rights narrowed to
its scopes: through ownership or a share it still needs the scope naming the action
(``content.documents.read`` to read what its owner owns).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from hub.identity.api import Membership

READ = "content.documents.read"
WRITE = "content.documents.write"
DELETE = "content.documents.delete"
SHARE = "content.documents.share"
ADMIN = "content.admin"
TAXONOMY_MANAGE = "content.taxonomy.manage"
AUDIT_READ = "content.audit.read"
MAIL_MANAGE = "content.mail.manage"
CONSUME_MANAGE = "content.consume.manage"
#: Not an ability but a standing rule of the roles that list it: their members' uploads are
#: restricted from the first commit (sealed bids, patients' own files). Only an exact
#: listing counts (no built-in pattern grants it), and ``content.admin`` overrides it.
SEALED_UPLOADS = "content.uploads.sealed"

#: What content contributes to the permission catalogue (``GET /permissions``).
PERMISSIONS: tuple[tuple[str, str], ...] = (
    (READ, "Read the organisation's documents that are not restricted"),
    (WRITE, "Upload documents, add versions and edit metadata of unrestricted documents"),
    (DELETE, "Move unrestricted documents to the trash, restore and delete them"),
    (SHARE, "Change who may read or edit unrestricted documents"),
    (ADMIN, "Everything on every document, restricted ones included; legal holds"),
    (TAXONOMY_MANAGE, "Create, change and delete tags, document types and custom fields"),
    (AUDIT_READ, "Read, export and verify the organisation's audit trail"),
    (
        MAIL_MANAGE,
        "Set up the mail accounts and rules that turn e-mail attachments into documents",
    ),
    (
        CONSUME_MANAGE,
        "Set up the organisation's consumption folder on the server, whose files become documents",
    ),
    (
        SEALED_UPLOADS,
        "Uploads are restricted from their creation: only the uploader and explicit shares"
        " read them (a rule for roles such as suppliers, not an ability)",
    ),
)


class Action(enum.Enum):
    READ = READ
    EDIT = WRITE
    DELETE = DELETE
    SHARE = SHARE
    HOLD = ADMIN


class ShareAccess(enum.Enum):
    VIEW = "view"
    EDIT = "edit"


@dataclass(frozen=True)
class Caller:
    """A member of one organisation as the document rule needs it."""

    organisation_id: uuid.UUID
    user_id: uuid.UUID
    role_ids: frozenset[uuid.UUID]
    #: The content permissions the caller's roles grant (narrowed by an API key's scopes).
    granted: frozenset[str]
    #: An API key's scopes (None for a person): ownership and shares need them too.
    scopes: frozenset[str] | None = None
    #: Whether this member's new documents start restricted (see ``SEALED_UPLOADS``).
    sealed_uploads: bool = False

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.granted

    def personally(self, action: Action) -> bool:
        """Whether ownership or a share may be used for ``action`` (an API key needs
        the matching scope)."""
        return self.scopes is None or action.value in self.scopes


def caller_of(membership: Membership) -> Caller:
    return Caller(
        organisation_id=membership.organisation_id,
        user_id=membership.user_id,
        role_ids=frozenset(role.id for role in membership.roles),
        granted=frozenset(key for key, _ in PERMISSIONS if membership.allows(key)),
        scopes=membership.scopes,
        sealed_uploads=sealed_uploads(membership),
    )


def sealed_uploads(membership: Membership) -> bool:
    """Whether one of the member's roles lists ``SEALED_UPLOADS`` by its exact key.

    Read from the roles, not narrowed by an API key's scopes: a key cannot unseal what its
    owner uploads. An administrator of content reads everything anyway, so it is exempt."""
    if membership.allows(ADMIN):
        return False
    return any(SEALED_UPLOADS in grant.include for grant in membership.grants)


@dataclass(frozen=True)
class Facts:
    """What the rule reads of one document."""

    owner_id: uuid.UUID
    restricted: bool
    #: The strongest share reaching the caller (directly or through one of its roles).
    share: ShareAccess | None = None


def strongest(shares: Iterable[str]) -> ShareAccess | None:
    found = {ShareAccess(s) for s in shares}
    if ShareAccess.EDIT in found:
        return ShareAccess.EDIT
    return ShareAccess.VIEW if found else None


def allowed(caller: Caller, facts: Facts, action: Action) -> bool:
    if caller.is_admin:
        return True
    owner = facts.owner_id == caller.user_id and caller.personally(action)
    if action is Action.HOLD:
        return False
    if owner:
        return True
    if action is Action.READ:
        if facts.share is not None and caller.personally(action):
            return True
    elif action is Action.EDIT and facts.share is ShareAccess.EDIT and caller.personally(action):
        return True
    return not facts.restricted and action.value in caller.granted


def capabilities(caller: Caller, facts: Facts) -> frozenset[Action]:
    """Every action the caller may take; empty when it may not even read."""
    if not allowed(caller, facts, Action.READ):
        return frozenset()
    return frozenset(a for a in Action if allowed(caller, facts, a))
