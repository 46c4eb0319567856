"""Templates through HTTP: platform templates overridden per organisation, versions kept,
locale fallback, previews, and refusals of broken or unsafe templates at save time."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.communication.support import TEMPLATES, Client, org_with
from tests.integration.identity.support_orgs import Person


def _body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": "team.welcome",
        "category": "general",
        "variables": ["name"],
        "sample": {"name": "Ada"},
        "channels": {
            "in_app": {"en": {"title": "Hello {{ name }}", "body": "Welcome."}},
            "email": {
                "en": {
                    "subject": "Hello {{ name }}",
                    "text": "Hi {{ name }}",
                    "html": "<p>{{ name }}</p>",
                }
            },
        },
    }
    body.update(over)
    return body


async def _create(client: Client, owner: Person, org: str, body: dict[str, Any]) -> Any:
    return await client.post(
        TEMPLATES, params={"organisationId": org}, json=body, headers=owner.auth
    )


async def test_create_version_history_and_platform_override(
    client: Client, database_url: str
) -> None:
    owner, org, _ = await org_with(client, database_url)
    q = {"organisationId": org}
    r = await _create(client, owner, org, _body())
    assert r.status_code == 201, r.text
    assert (r.json()["version"], r.json()["source"]) == (1, "organisation")
    assert (await _create(client, owner, org, _body())).json()["code"] == "template_exists"
    # a platform key cannot be POSTed (it exists), only overridden with PUT
    r = await _create(client, owner, org, _body(key="document.shared"))
    assert (r.status_code, r.json()["code"]) == (409, "template_exists")

    put = {k: v for k, v in _body().items() if k != "key"}
    put["channels"]["in_app"]["en"]["title"] = "Hi {{ name }}!"
    r = await client.put(f"{TEMPLATES}/team.welcome", params=q, json=put, headers=owner.auth)
    assert (r.status_code, r.json()["version"]) == (200, 2)
    r = await client.get(f"{TEMPLATES}/team.welcome", params=q, headers=owner.auth)
    assert r.json()["channels"]["in_app"]["en"]["title"] == "Hi {{ name }}!"
    r = await client.get(
        f"{TEMPLATES}/team.welcome", params={**q, "version": 1}, headers=owner.auth
    )
    assert r.json()["channels"]["in_app"]["en"]["title"] == "Hello {{ name }}"
    r = await client.get(f"{TEMPLATES}/team.welcome/versions", params=q, headers=owner.auth)
    assert [v["version"] for v in r.json()["items"]] == [2, 1]

    # the platform's template is version 0 until the organisation overrides it
    r = await client.get(f"{TEMPLATES}/document.shared", params=q, headers=owner.auth)
    assert (r.json()["version"], r.json()["source"]) == (0, "platform")
    shipped = r.json()
    override = {k: shipped[k] for k in ("category", "variables", "sample", "channels")}
    override["channels"]["in_app"]["en"]["title"] = "Shared: {{ documentTitle }}"
    r = await client.put(
        f"{TEMPLATES}/document.shared", params=q, json=override, headers=owner.auth
    )
    assert (r.status_code, r.json()["version"], r.json()["source"]) == (200, 1, "organisation")
    listed = await client.get(TEMPLATES, params=q, headers=owner.auth)
    by_key = {t["key"]: t for t in listed.json()["items"]}
    assert by_key["document.shared"]["source"] == "organisation"
    assert by_key["security.alert"]["source"] == "platform"
    assert by_key["team.welcome"]["version"] == 2

    # another organisation still sees the platform's text and none of ours
    other = await client.post(
        f"{TEMPLATES[: -len('/notification-templates')]}/orgs",
        json={"name": "B"},
        headers=owner.auth,
    )
    org_b = other.json()["id"]
    r = await client.get(
        f"{TEMPLATES}/document.shared", params={"organisationId": org_b}, headers=owner.auth
    )
    assert r.json()["source"] == "platform"
    r = await client.get(
        f"{TEMPLATES}/team.welcome", params={"organisationId": org_b}, headers=owner.auth
    )
    assert r.status_code == 404
    r = await client.put(f"{TEMPLATES}/no.such", params=q, json=put, headers=owner.auth)
    assert r.status_code == 404


async def test_preview_renders_with_sample_and_locale_fallback(
    client: Client, database_url: str
) -> None:
    owner, org, _ = await org_with(client, database_url)
    q = {"organisationId": org}
    url = f"{TEMPLATES}/document.shared/preview"
    r = await client.post(url, params=q, json={}, headers=owner.auth)
    assert r.status_code == 200, r.text
    got = r.json()["channels"]
    assert got["in_app"]["locale"] == "en"
    assert got["in_app"]["parts"]["title"] == "Ada Lovelace shared “Q3 report” with you"
    r = await client.post(
        url,
        params=q,
        json={"locale": "de-AT", "payload": {"documentTitle": "<b>x</b>"}},
        headers=owner.auth,
    )
    got = r.json()["channels"]
    assert got["in_app"]["locale"] == "de"  # language match for de-AT
    assert got["email"]["locale"] == "de"
    r = await client.post(url, params=q, json={"locale": "fr"}, headers=owner.auth)
    assert r.json()["channels"]["email"]["locale"] == "en"  # no French: English
    # HTML parts are autoescaped, text parts are not
    r = await client.post(
        url, params=q, json={"payload": {"actorName": "<i>A</i>"}}, headers=owner.auth
    )
    email = r.json()["channels"]["email"]["parts"]
    assert "&lt;i&gt;A&lt;/i&gt;" in email["html"]
    assert "<i>A</i>" in email["text"]


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("{{ ''.__class__.__mro__ }}", "template_unsafe"),
        ("{{ cycler.__init__.__globals__ }}", "template_unsafe"),
        ("{{ cycler }}", "template_undeclared_variable"),
        ("{% for i in range(10**9) %}x{% endfor %}", "template_unsafe"),
        ("{% for i in range(10) %}x{% endfor %}", "template_undeclared_variable"),
        ("{{ name._secret }}", "template_unsafe"),
        ("{{ name['__class__'] }}", "template_unsafe"),
        ("{{ name|attr('__class__') }}", "template_unsafe"),
        ("{% if false %}{{ name.__class__ }}{% endif %}", "template_unsafe"),
        ("{% include 'x' %}", "template_unsafe"),
        ("{{ 'a' * 1000000 }}", "template_unsafe"),
        ("{{ nope }}", "template_undeclared_variable"),
        ("{{ name ", "template_invalid"),
        ("{{ name.missing.deeper }}", "template_render_failed"),
    ],
)
async def test_unsafe_or_broken_templates_are_refused_at_save(
    client: Client, database_url: str, source: str, code: str
) -> None:
    owner, org, _ = await org_with(client, database_url)
    body = _body()
    body["channels"]["email"]["en"]["subject"] = source
    r = await _create(client, owner, org, body)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == code
    assert problem["errors"][0]["field"] == "channels.email.en.subject"
    listed = await client.get(TEMPLATES, params={"organisationId": org}, headers=owner.auth)
    assert "team.welcome" not in {t["key"] for t in listed.json()["items"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "nope"}, "category"),
        ({"variables": ["name", "name"]}, "variables"),
        ({"variables": ["name", ""]}, "variables[1]"),
        ({"sample": {"other": 1}}, "sample.other"),
        ({"channels": {}}, "channels"),
        ({"channels": {"email": {"en": {"subject": "x"}}}}, "channels.email.en.text"),
        (
            {"channels": {"email": {"en": {"subject": "x", "text": "y", "body": "z"}}}},
            "channels.email.en.body",
        ),
        ({"channels": {"in_app": {"english": {"title": "x"}}}}, "channels.in_app.english"),
        ({"channels": {"pigeon": {"en": {"text": "x"}}}}, "channels.pigeon"),
    ],
)
async def test_malformed_templates_name_the_field(
    client: Client, database_url: str, change: dict[str, Any], field: str
) -> None:
    owner, org, _ = await org_with(client, database_url)
    r = await _create(client, owner, org, _body(**change))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


async def test_template_routes_need_the_manage_permission(
    client: Client, database_url: str
) -> None:
    owner, org, people = await org_with(client, database_url, ("member", None))
    q = {"organisationId": org}
    r = await client.get(TEMPLATES, params=q, headers=people["member"].auth)
    assert (r.status_code, r.json()["extra"]["permission"]) == (
        403,
        "communication.templates.manage",
    )
    r = await _create(client, people["member"], org, _body())
    assert r.status_code == 403
    outsider_org = (
        await client.post(
            TEMPLATES.replace("/notification-templates", "/orgs"),
            json={"name": "X"},
            headers=people["member"].auth,
        )
    ).json()["id"]
    r = await client.get(TEMPLATES, params={"organisationId": outsider_org}, headers=owner.auth)
    assert r.status_code == 404
    r = await client.post(TEMPLATES, json=_body(), headers=owner.auth)
    assert r.status_code == 400  # no organisationId
    r = await _create(client, owner, org, {**_body(), "key": "Bad Key"})
    assert r.status_code == 400  # the document's pattern
