"""Validate, apply and export packs through the contexts' configuration interfaces.

Applying is idempotent: each setting is matched by its natural key (a role or tag by
name, a custom field by key, a template or workflow by key) and written only when it
differs, so a second apply of the same pack changes nothing and says so. Settings the
organisation has beyond the pack are left alone (a pack adds and updates, never
deletes). Each setting commits on its own: the whole pack is validated first, so a
failure part-way is an outage, and applying again finishes the job.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable

from hub.communication.api import CommunicationConfigApi, NotificationDefaults
from hub.content.api import ContentConfigApi, TagSetting
from hub.identity.api import IdentityApi, IdentityConfigApi, SettingChange
from hub.kernel.errors import Forbidden
from hub.packs.format import PackDocument, PackManifest, PackNotifications, PackProblem, Struct
from hub.workflow.api import DefinitionNames, WorkflowConfigApi, WorkflowSetting

#: Every organisation has these roles; a pack may name them and may not redefine them.
BUILTIN_ROLES = ("owner", "admin", "member", "auditor")


class PackChange(Struct, frozen=True):
    """What applying did to one setting (``kind``: role, tag, documentType, customField,
    notificationCategory, notificationDefaults, template, notificationTopic, messagingPolicy,
    workflow)."""

    kind: str
    name: str
    change: SettingChange
    #: For a workflow: the version now newest.
    version: int | None = None


class PackReport(Struct, frozen=True):
    organisation_id: uuid.UUID
    pack: str
    version: str
    changed: bool
    changes: tuple[PackChange, ...]

    def summary(self) -> str:
        done = [c for c in self.changes if c.change != "unchanged"]
        if not done:
            return f"{self.pack} {self.version}: no changes"
        counts: dict[str, int] = {}
        for c in done:
            counts[c.change] = counts.get(c.change, 0) + 1
        return f"{self.pack} {self.version}: " + ", ".join(f"{n} {k}" for k, n in counts.items())


def _lower(name: str) -> str:
    return " ".join(name.split()).casefold()


def _at(path: str, found: Iterable[tuple[str, str]]) -> list[PackProblem]:
    # the contexts append ".field" to the path they are given: "roles.yaml: roles[0].name"
    return [PackProblem(path=re.sub(r":\.", ": ", p), message=m) for p, m in found]


def parents_first(tags: Iterable[TagSetting]) -> list[TagSetting]:
    """Tags ordered so that each comes after its parent (a parent outside the list, or a
    cycle, leaves the rest in their order; validation reports those)."""
    pending = list(tags)
    by_name = {_lower(t.name) for t in pending}
    placed: set[str] = set()
    ordered: list[TagSetting] = []
    while pending:
        ready = [
            t
            for t in pending
            if t.parent is None or _lower(t.parent) in placed or _lower(t.parent) not in by_name
        ]
        if not ready:
            ordered += pending
            break
        for t in ready:
            ordered.append(t)
            placed.add(_lower(t.name))
        pending = [t for t in pending if t not in ready]
    return ordered


class PackEngine:
    def __init__(
        self,
        identity: IdentityConfigApi,
        content: ContentConfigApi,
        communication: CommunicationConfigApi,
        workflow: WorkflowConfigApi,
        people: IdentityApi,
    ) -> None:
        self.identity, self.content = identity, content
        self.communication, self.workflow = communication, workflow
        self.people = people

    async def require_platform_admin(
        self, user_id: uuid.UUID, api_key_id: uuid.UUID | None
    ) -> None:
        """Packs over HTTP are for platform administrators signed in as themselves (API
        keys never administer): a pack rewrites an organisation's roles and workflows."""
        user = await self.people.resolve_principal(user_id)
        if api_key_id is not None or user is None or not user.is_platform_admin:
            raise Forbidden("Platform administrators only.", code="platform_admin_required")

    async def organisation_name(self, organisation_id: uuid.UUID) -> str | None:
        found = await self.identity.organisations_named(str(organisation_id))
        return found[0].name if found else None

    async def first_owner(self, organisation_id: uuid.UUID) -> uuid.UUID | None:
        """Who the command line acts as: the organisation's longest-standing owner."""
        owners = await self.people.members_with_role(organisation_id, "owner")
        return owners[0] if owners else None

    # ------------------------------------------------------------------ validate

    async def problems(self, pack: PackDocument) -> list[PackProblem]:
        """Every reason the pack could not be applied (nothing is read or written)."""
        found: list[PackProblem] = []
        names: list[str] = []
        for i, role in enumerate(pack.roles):
            at = f"roles.yaml: roles[{i}]"
            found += _at(at, await self.identity.role_problems(role, at))
            if _lower(role.name) in names:
                found.append(PackProblem(path=f"{at}.name", message=f"{role.name!r} appears twice"))
            names.append(_lower(role.name))
        found += _at(
            "taxonomy.yaml:", await self.content.taxonomy_problems(pack.taxonomy, "taxonomy.yaml:")
        )
        notes = pack.notifications
        categories: list[str] = []
        for i, category in enumerate(notes.categories):
            at = f"notifications.yaml: categories[{i}]"
            found += _at(at, await self.communication.category_problems(category, at))
            if category.key in categories:
                found.append(
                    PackProblem(path=f"{at}.key", message=f"{category.key!r} appears twice")
                )
            categories.append(category.key)
        own = tuple(categories)
        if notes.defaults is not None:
            where = "notifications.yaml: defaults"
            found += _at(
                where, await self.communication.defaults_problems(notes.defaults, where, own)
            )
        keys: list[str] = []
        for i, template in enumerate(notes.templates):
            at = f"notifications.yaml: templates[{i}]"
            found += _at(at, await self.communication.template_problems(template, at, own))
            if template.key in keys:
                found.append(
                    PackProblem(path=f"{at}.key", message=f"{template.key!r} appears twice")
                )
            keys.append(template.key)
        topics: list[str] = []
        for i, topic in enumerate(notes.topics):
            at = f"notifications.yaml: topics[{i}]"
            found += _at(at, await self.communication.topic_problems(topic, at))
            if topic.key in topics:
                found.append(PackProblem(path=f"{at}.key", message=f"{topic.key!r} appears twice"))
            topics.append(topic.key)
        roles = [*BUILTIN_ROLES, *names]
        if pack.messaging is not None:
            where = "messaging.yaml: rules"
            found += _at(
                where,
                await self.communication.messaging_problems(pack.messaging, where, tuple(roles)),
            )
        fields = pack.taxonomy.custom_fields
        known = DefinitionNames(
            roles=frozenset(roles),
            document_types=frozenset(_lower(t.name) for t in pack.taxonomy.document_types),
            custom_fields=frozenset(f.key for f in fields),
            date_fields=frozenset(f.key for f in fields if f.type == "date"),
            workflows=frozenset(pack.workflows),
            topics=frozenset(topics),
        )
        for key, body in sorted(pack.workflows.items()):
            where = f"workflows/{key}.yaml:"
            found += _at(
                where, await self.workflow.definition_problems(body, names=known, path=where)
            )
        found += self._sample_problems(pack, roles)
        return found

    @staticmethod
    def _sample_problems(pack: PackDocument, roles: list[str]) -> list[PackProblem]:
        found: list[PackProblem] = []
        types = {_lower(t.name) for t in pack.taxonomy.document_types}
        fields = {f.key for f in pack.taxonomy.custom_fields}
        for i, doc in enumerate(pack.samples.documents):
            at = f"samples.yaml: documents[{i}]"
            if doc.document_type is not None and _lower(doc.document_type) not in types:
                found.append(
                    PackProblem(path=f"{at}.documentType", message=f"no type {doc.document_type!r}")
                )
            for key in sorted(set(doc.custom_fields) - fields):
                found.append(PackProblem(path=f"{at}.customFields.{key}", message="no such field"))
            if _lower(doc.owner) not in roles:
                found.append(PackProblem(path=f"{at}.owner", message=f"no role {doc.owner!r}"))
            for i_role, role in enumerate(doc.share_with_roles):
                if _lower(role) not in roles:
                    where = f"{at}.shareWithRoles[{i_role}]"
                    found.append(PackProblem(path=where, message=f"no role {role!r}"))
        return found

    # ------------------------------------------------------------------ apply

    async def apply(
        self, organisation_id: uuid.UUID, pack: PackDocument, *, actor_id: uuid.UUID
    ) -> PackReport:
        """Bring the organisation in line with the pack (validate first: see
        :meth:`problems`); what changed, setting by setting."""
        org, actor = organisation_id, actor_id
        changes: list[PackChange] = []
        for role in pack.roles:
            done = await self.identity.put_role(org, role, actor_id=actor)
            changes.append(PackChange(kind="role", name=role.name, change=done))
        for tag in parents_first(pack.taxonomy.tags):
            done = await self.content.put_tag(org, tag, actor_id=actor)
            changes.append(PackChange(kind="tag", name=tag.name, change=done))
        for kind in pack.taxonomy.document_types:
            done = await self.content.put_document_type(org, kind, actor_id=actor)
            changes.append(PackChange(kind="documentType", name=kind.name, change=done))
        for field in pack.taxonomy.custom_fields:
            done = await self.content.put_custom_field(org, field, actor_id=actor)
            changes.append(PackChange(kind="customField", name=field.key, change=done))
        for category in pack.notifications.categories:
            done = await self.communication.put_category(org, category, actor_id=actor)
            changes.append(PackChange(kind="notificationCategory", name=category.key, change=done))
        if pack.notifications.defaults is not None:
            done = await self.communication.put_notification_defaults(
                org, pack.notifications.defaults, actor_id=actor
            )
            changes.append(PackChange(kind="notificationDefaults", name="defaults", change=done))
        for template in pack.notifications.templates:
            done = await self.communication.put_template(org, template, actor_id=actor)
            changes.append(PackChange(kind="template", name=template.key, change=done))
        for topic in pack.notifications.topics:
            done = await self.communication.put_topic(org, topic, actor_id=actor)
            changes.append(PackChange(kind="notificationTopic", name=topic.key, change=done))
        if pack.messaging is not None:
            done = await self.communication.put_messaging_policy(
                org, pack.messaging, actor_id=actor
            )
            changes.append(PackChange(kind="messagingPolicy", name="messaging", change=done))
        for key, body in sorted(pack.workflows.items()):
            setting = WorkflowSetting(key=key, definition=body)
            done, version = await self.workflow.put_definition(org, setting, actor_id=actor)
            changes.append(PackChange(kind="workflow", name=key, change=done, version=version))
        return PackReport(
            organisation_id=org,
            pack=pack.pack.name,
            version=pack.pack.version,
            changed=any(c.change != "unchanged" for c in changes),
            changes=tuple(changes),
        )

    # ------------------------------------------------------------------ export

    async def export(
        self, organisation_id: uuid.UUID, *, name: str, version: str = "1.0.0"
    ) -> PackDocument:
        """The organisation's configuration as a pack (custom roles, taxonomy, its own
        notification categories, templates and defaults, the newest version of each
        workflow)."""
        defaults = await self.communication.notification_defaults(organisation_id)
        messaging = await self.communication.messaging_policy(organisation_id)
        workflows = await self.workflow.latest_definitions(organisation_id)
        return PackDocument(
            pack=PackManifest(
                name=name,
                version=version,
                description="Exported configuration of an organisation",
            ),
            roles=tuple(await self.identity.custom_roles(organisation_id)),
            taxonomy=await self.content.taxonomy_settings(organisation_id),
            notifications=PackNotifications(
                categories=tuple(await self.communication.organisation_categories(organisation_id)),
                defaults=None if defaults == NotificationDefaults() else defaults,
                templates=tuple(await self.communication.organisation_templates(organisation_id)),
                topics=tuple(await self.communication.organisation_topics(organisation_id)),
            ),
            messaging=messaging if messaging.rules else None,
            workflows={w.key: w.definition for w in workflows},
        )


def export_name(organisation_name: str) -> str:
    """A pack name from an organisation's name (``Ville de Lyon`` -> ``ville-de-lyon``)."""
    ascii_name = unicodedata.normalize("NFKD", organisation_name).encode("ascii", "ignore")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.decode().lower()).strip("-")[:60]
    return slug if slug and slug[0].isalpha() else f"org-{slug}".rstrip("-")
