"""The pack format: one document (``PackDocument``) that a directory of YAML files spells
out file by file, and that the HTTP routes take and answer as JSON.

Directory layout (every file but ``pack.yaml`` optional; any other file is a problem)::

    pack.yaml            the manifest: format, name, version, description
    roles.yaml           roles: [{name, description, permissions}]
    taxonomy.yaml        tags, documentTypes, customFields
    notifications.yaml   categories [...], defaults {defaultLocale, channels, digests},
                         templates [...], topics [{key, name, description}]
    messaging.yaml       rules [{role, mayMessage}]: who may message whom, by role
    workflows/<key>.yaml one workflow definition each (the body of POST /workflows)
    samples.yaml         documents: sample data the demo uploads (not applied)

The setting types are the contexts' own (``RoleSetting``, ``TaxonomySettings``,
``TemplateSetting``, ``NotificationDefaults``, ``CategorySetting``, ``TopicSetting``): a
pack holds nothing they would not take.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from hub.communication.api import (
    CategorySetting,
    MessagingSetting,
    NotificationDefaults,
    TemplateSetting,
    TopicSetting,
)
from hub.content.api import TaxonomySettings
from hub.identity.api import RoleSetting

#: The only format this hub reads and writes.
FORMAT = 1
NAME_PATTERN = r"^[a-z][a-z0-9-]{0,63}$"
#: A workflow key, as ``POST /workflows`` takes it.
WORKFLOW_KEY_PATTERN = r"^[a-z][a-z0-9_.-]{0,63}$"

PackName = Annotated[str, msgspec.Meta(pattern=NAME_PATTERN)]
PackVersion = Annotated[str, msgspec.Meta(pattern=r"^\d+\.\d+\.\d+$")]


class Struct(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    pass


class PackManifest(Struct, frozen=True):
    """``pack.yaml``: which pack and which version of it (``MAJOR.MINOR.PATCH``)."""

    name: PackName
    version: PackVersion
    format: int = FORMAT
    description: str = ""


class PackNotifications(Struct, frozen=True):
    """``notifications.yaml``: the organisation's own notification categories, its
    defaults per category (left alone when absent) and its own templates."""

    #: Categories the organisation defines beside the platform's (key, name,
    #: description, defaults per channel, mandatory); templates, defaults and workflow
    #: ``notify`` actions of the pack may name them.
    categories: tuple[CategorySetting, ...] = ()
    defaults: NotificationDefaults | None = None
    templates: tuple[TemplateSetting, ...] = ()
    #: Notification topics (members join them themselves); the pack's workflow ``notify``
    #: actions may name them in ``to.topics``.
    topics: tuple[TopicSetting, ...] = ()


class PackSampleDocument(Struct, frozen=True):
    """A document the demo uploads: its text becomes a ``.txt`` file; ``owner`` names the
    demo account (a role name of the pack) that uploads it."""

    title: str
    text: str
    owner: str
    document_type: str | None = None
    tags: tuple[str, ...] = ()
    custom_fields: dict[str, Any] = msgspec.field(default_factory=dict)
    restricted: bool = False
    #: Roles of the pack the document is shared with (view).
    share_with_roles: tuple[str, ...] = ()


class PackSamples(Struct, frozen=True):
    documents: tuple[PackSampleDocument, ...] = ()


class PackDocument(Struct, frozen=True):
    """A whole pack in one object (``POST /packs/validate``, ``PUT /orgs/{orgId}/pack``,
    ``GET /orgs/{orgId}/pack``)."""

    pack: PackManifest
    roles: tuple[RoleSetting, ...] = ()
    taxonomy: TaxonomySettings = TaxonomySettings()
    notifications: PackNotifications = PackNotifications()
    #: Who may message whom, by role (left alone when absent; replaced whole otherwise).
    messaging: MessagingSetting | None = None
    #: Workflow definitions by key.
    workflows: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)
    samples: PackSamples = PackSamples()


class PackProblem(Struct, frozen=True):
    """One reason a pack cannot be applied: where (``roles.yaml: roles[2].permissions``)
    and why."""

    path: str
    message: str
