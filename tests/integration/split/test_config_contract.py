"""The configuration Protocols a domain pack writes through, one suite each way: the
in-process facades and the remote adapters talking to a real ``hub run`` serving the four
contexts give the same reads, the same writes (applied once, unchanged the second time) and
the same validation problems, so a process that does not serve them can still apply packs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import context_modules, create_app, load_settings
from hub.communication.api import (
    CategorySetting,
    CommunicationConfigApi,
    MessagingRuleSetting,
    MessagingSetting,
    NotificationDefaults,
    TemplateSetting,
    TopicSetting,
)
from hub.content.api import ContentConfigApi, TagSetting, TaxonomySettings
from hub.identity.api import IdentityConfigApi, RoleSetting
from hub.kernel.remote.interface import describe
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.wiring import assemble
from hub.packs.files import read_pack
from hub.packs.shipped import pack_path
from hub.workflow.api import DefinitionNames, WorkflowConfigApi, WorkflowSetting
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import create_org, person, roles_by_name
from tests.integration.packs.support import platform_admin
from tests.integration.split.support import adapter, hub_process, remote_client

pytestmark = [pytest.mark.slow]

IDENTITY = describe("identity", IdentityConfigApi, "identity_config")
CONTENT = describe("content", ContentConfigApi, "content_config")
COMMUNICATION = describe("communication", CommunicationConfigApi, "communication_config")
WORKFLOW = describe("workflow", WorkflowConfigApi, "workflow_config")

DEFINITION = {
    "states": [
        {"name": "review", "initial": True},
        {"name": "done", "final": True},
    ],
    "transitions": [{"name": "finish", "from": ["review"], "to": "done"}],
}


@dataclass
class Configs:
    identity: IdentityConfigApi
    content: ContentConfigApi
    communication: CommunicationConfigApi
    workflow: WorkflowConfigApi


@pytest.fixture(scope="module")
def service(base_settings: Settings) -> Iterator[str]:
    """A second process serving the four contexts (no worker)."""
    with hub_process(base_settings, "identity,content,communication,workflow") as (_, base):
        yield base


@pytest.fixture(params=["facade", "remote"])
def configs(request: pytest.FixtureRequest, kernel: Kernel, app: Litestar) -> Configs:
    if request.param == "facade":
        assemble(kernel, context_modules())
        s = kernel.services
        return Configs(
            s["identity_config"],
            s["content_config"],
            s["communication_config"],
            s["workflow_config"],
        )
    base = request.getfixturevalue("service")
    return Configs(
        adapter(IDENTITY, remote_client(kernel, "identity", base)),
        adapter(CONTENT, remote_client(kernel, "content", base)),
        adapter(COMMUNICATION, remote_client(kernel, "communication", base)),
        adapter(WORKFLOW, remote_client(kernel, "workflow", base)),
    )


async def organisation(
    client: AsyncTestClient[Litestar], database_url: str
) -> tuple[uuid.UUID, uuid.UUID]:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner, name="Config Org"))["id"]
    return uuid.UUID(org), uuid.UUID(owner.user_id)


async def test_identity_roles_alike(
    configs: Configs, client: AsyncTestClient[Litestar], database_url: str
) -> None:
    org, owner = await organisation(client, database_url)
    identity = configs.identity
    [found] = await identity.organisations_named("config org")
    assert (found.id, found.name) == (org, "Config Org")
    assert await identity.organisations_named("nobody") == []

    problems = await identity.role_problems(
        RoleSetting(name="owner", permissions=("no.such.permission",)), "roles[0]"
    )
    assert ("roles[0].name", "'owner' is a built-in role") in problems
    assert any("no.such.permission" in message for _, message in problems)
    good = RoleSetting(name="buyer", description="Buys", permissions=("identity.roles.read",))
    assert await identity.role_problems(good, "roles[1]") == []

    assert await identity.put_role(org, good, actor_id=owner) == "created"
    assert await identity.put_role(org, good, actor_id=owner) == "unchanged"
    assert await identity.custom_roles(org) == [good]


async def test_content_taxonomy_alike(
    configs: Configs, client: AsyncTestClient[Litestar], database_url: str
) -> None:
    org, owner = await organisation(client, database_url)
    content = configs.content
    bad = TaxonomySettings(tags=(TagSetting(name="child", parent="missing"),))
    assert await content.taxonomy_problems(bad, "taxonomy:") == [
        ("taxonomy:.tags[0].parent", "no tag 'missing' in this pack")
    ]

    tag = TagSetting(name="Tenders", colour="#336699")
    assert await content.put_tag(org, tag, actor_id=owner) == "created"
    assert await content.put_tag(org, tag, actor_id=owner) == "unchanged"
    assert (await content.taxonomy_settings(org)).tags == (tag,)


async def test_communication_defaults_and_templates_alike(
    configs: Configs, client: AsyncTestClient[Litestar], database_url: str
) -> None:
    org, owner = await organisation(client, database_url)
    communication = configs.communication
    unsafe = TemplateSetting(
        key="Bad Key", category="documents", channels={"in_app": {"en": {"title": "x"}}}
    )
    assert (await communication.template_problems(unsafe, "templates[0]")) != []
    assert (
        await communication.defaults_problems(NotificationDefaults(default_locale="fr"), "defaults")
        == []
    )
    assert (
        await communication.defaults_problems(NotificationDefaults(digests={"x": "y"}), "defaults")
    ) != []

    defaults = NotificationDefaults(default_locale="fr", channels={"documents": {"email": False}})
    assert await communication.put_notification_defaults(org, defaults, actor_id=owner) in (
        "created",
        "updated",
    )
    assert (
        await communication.put_notification_defaults(org, defaults, actor_id=owner) == "unchanged"
    )
    stored = await communication.notification_defaults(org)
    assert stored.default_locale == "fr"
    assert stored.channels["documents"]["email"] is False
    assert await communication.organisation_templates(org) == []


async def test_communication_categories_and_messaging_alike(
    configs: Configs, client: AsyncTestClient[Litestar], database_url: str
) -> None:
    org, owner = await organisation(client, database_url)
    communication = configs.communication
    reserved = CategorySetting(key="documents", name="Documents")
    assert [p for p, _ in await communication.category_problems(reserved, "c[0]")] == ["c[0].key"]
    alerts = CategorySetting(key="alerts", name="Alerts", defaults={"email": True})
    assert await communication.category_problems(alerts, "c[1]") == []
    # a template may name a category the same configuration defines
    template = TemplateSetting(
        key="team.alert", category="alerts", channels={"in_app": {"en": {"title": "x"}}}
    )
    assert await communication.template_problems(template, "t", ("alerts",)) == []
    assert await communication.template_problems(template, "t") != []
    assert await communication.put_category(org, alerts, actor_id=owner) == "created"
    assert await communication.put_category(org, alerts, actor_id=owner) == "unchanged"
    assert await communication.organisation_categories(org) == [alerts]

    policy = MessagingSetting(rules=(MessagingRuleSetting(role="member", may_message=("admin",)),))
    assert await communication.messaging_problems(policy, "m", ("member", "admin")) == []
    assert await communication.messaging_problems(policy, "m", ("admin",)) != []
    assert await communication.put_messaging_policy(org, policy, actor_id=owner) == "created"
    assert await communication.put_messaging_policy(org, policy, actor_id=owner) == "unchanged"
    assert await communication.messaging_policy(org) == policy


async def test_communication_topics_alike(
    configs: Configs, client: AsyncTestClient[Litestar], database_url: str
) -> None:
    org, owner = await organisation(client, database_url)
    communication = configs.communication
    bad = TopicSetting(key="On Call", name=" ")
    assert [p for p, _ in await communication.topic_problems(bad, "t[0]")] == ["t[0].key"]
    blank = TopicSetting(key="on-call", name=" ")
    assert [p for p, _ in await communication.topic_problems(blank, "t[1]")] == ["t[1].name"]
    topic = TopicSetting(key="on-call", name="On call", description="Paged at night")
    assert await communication.topic_problems(topic, "t[2]") == []
    assert await communication.put_topic(org, topic, actor_id=owner) == "created"
    assert await communication.put_topic(org, topic, actor_id=owner) == "unchanged"
    renamed = TopicSetting(key="on-call", name="Night shift", description="Paged at night")
    assert await communication.put_topic(org, renamed, actor_id=owner) == "updated"
    assert await communication.organisation_topics(org) == [renamed]
    # a workflow naming it is checked against the names given (the pack's topics)
    notify = {
        "kind": "notify",
        "templateKey": "general.announcement",
        "to": {"topics": ["on-call"]},
    }
    body = {**DEFINITION, "transitions": [{**DEFINITION["transitions"][0], "actions": [notify]}]}
    knows = DefinitionNames(topics=frozenset({"on-call"}))
    assert await configs.workflow.definition_problems(body, names=knows, path="wf:") == []
    problems = await configs.workflow.definition_problems(body, names=DefinitionNames(), path="wf:")
    assert [p for p, _ in problems] == ["wf:.transitions[0].actions[0].to.topics[0]"]


async def test_workflow_definitions_alike(
    configs: Configs, client: AsyncTestClient[Litestar], database_url: str
) -> None:
    org, owner = await organisation(client, database_url)
    workflow = configs.workflow
    names = DefinitionNames(roles=frozenset({"owner"}))
    assert await workflow.definition_problems(DEFINITION, names=names, path="wf:") == []
    broken = {**DEFINITION, "transitions": [{"name": "finish", "from": ["x"], "to": "done"}]}
    problems = await workflow.definition_problems(broken, names=names, path="wf:")
    assert problems
    assert all(path.startswith("wf:") for path, _ in problems)

    setting = WorkflowSetting(key="review", definition=DEFINITION)
    assert await workflow.put_definition(org, setting, actor_id=owner) == ("created", 1)
    assert await workflow.put_definition(org, setting, actor_id=owner) == ("unchanged", 1)
    [latest] = await workflow.latest_definitions(org)
    assert (latest.key, latest.version) == ("review", 1)
    assert latest.definition["transitions"][0]["to"] == "done"


async def test_a_workflow_only_process_validates_and_applies_packs_through_the_others(
    settings: Settings,
    service: str,
    client: AsyncTestClient[Litestar],
    database_url: str,
) -> None:
    """The deployment the reverse proxy assumes: the pack routes served by the process
    running workflow alone, identity, content and communication reached over HTTP."""
    root = await platform_admin(client, database_url)
    owner = await person(client, database_url, "lyon@example.com")
    org = (await create_org(client, owner, "Ville de Lyon"))["id"]
    split = load_settings(
        environ={
            "HUB_CONTEXTS": "workflow",
            "HUB_REMOTE_IDENTITY_URL": service,
            "HUB_REMOTE_CONTENT_URL": service,
            "HUB_REMOTE_COMMUNICATION_URL": service,
        },
        env="test",
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        log_level="WARNING",
    )
    document, problems = read_pack(pack_path("procurement"))
    assert problems == []
    assert document is not None
    body = msgspec.to_builtins(document)
    app = create_app(split, configure_logs=False)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as workflow:
        bad = {**body, "roles": [{"name": "owner", "permissions": ["nope"]}]}
        r = await workflow.post(f"{API}/packs/validate", json=bad, headers=root.auth)
        assert r.status_code == 200, r.text
        assert r.json()["valid"] is False
        paths = [p["path"] for p in r.json()["problems"]]
        assert "roles.yaml: roles[0].name" in paths

        r = await workflow.put(f"{API}/orgs/{org}/pack", json=body, headers=root.auth)
        assert r.status_code == 200, r.text
        assert r.json()["changed"] is True
        r = await workflow.put(f"{API}/orgs/{org}/pack", json=body, headers=root.auth)
        assert r.status_code == 200, r.text
        assert r.json()["changed"] is False
    # Written by the identity and content services, seen by the monolith.
    roles = await roles_by_name(client, org, owner)
    assert {"buyer", "evaluator", "supplier"} <= set(roles)
    types = await client.get(f"{API}/orgs/{org}/document-types", headers=owner.auth)
    assert {t["name"] for t in types.json()["items"]} == {"RC", "CCAP", "CCTP", "Offre", "Avis"}
