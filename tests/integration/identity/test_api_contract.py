"""The contract the document states holds over HTTP: Allow on OPTIONS lists every documented
method, the served document carries the derived errors, and the limits it states are the
server's (a body field named like an injected service included)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.integration.identity.support_orgs import create_org, person
from tests.support import problem

API = "/api/v1"


async def test_options_lists_every_method_the_document_names(client: Any) -> None:
    doc = (await client.get("/api/openapi.json")).json()
    org = str(uuid.uuid4())
    for template, url in (
        ("/api/v1/orgs/{org_id}", f"{API}/orgs/{org}"),
        ("/api/v1/orgs", f"{API}/orgs"),
        ("/api/v1/auth/me", f"{API}/auth/me"),
        ("/api/v1/auth/api-keys", f"{API}/auth/api-keys"),
        ("/api/v1/orgs/{org_id}/roles/{role_id}", f"{API}/orgs/{org}/roles/{uuid.uuid4()}"),
    ):
        r = await client.options(url)
        assert r.status_code == 204, url
        allowed = {m.strip().lower() for m in r.headers["allow"].split(",")}
        documented = set(doc["paths"][template]) & {"get", "post", "put", "patch", "delete"}
        assert documented <= allowed, (url, r.headers["allow"])
        assert allowed - documented <= {"options", "head"}, (url, r.headers["allow"])


async def test_the_served_document_is_the_derived_one(client: Any) -> None:
    r = await client.get("/api/openapi.json")
    assert r.status_code == 200
    me = r.json()["paths"][f"{API}/auth/me"]["get"]
    assert set(me["responses"]) == {"200", "401", "403", "429"}
    unauthorised = me["responses"]["401"]["content"]["application/problem+json"]
    assert unauthorised["schema"] == {"$ref": "#/components/schemas/Problem"}
    # …and what it says is what the server answers.
    r = await client.get(f"{API}/auth/me")
    assert r.status_code == 401
    assert problem(r)["code"] == "authentication_required"


async def test_a_body_field_named_like_a_service_is_a_400_not_a_500(
    client: Any, database_url: str
) -> None:
    """``roles`` is both a body field and an injected service: Litestar took the invalid
    field for a failed dependency and answered 500."""
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    r = await client.post(
        f"{API}/orgs/{org}/invitations",
        json={"email": "grace@example.com", "roles": []},
        headers=owner.auth,
    )
    assert r.status_code == 400, r.text
    body = problem(r)
    assert body["code"] == "validation_failed"
    assert body["errors"] == [
        {"field": "roles", "message": "Expected `array` of length >= 1", "source": "body"}
    ]


async def test_idempotency_keys_follow_the_documented_pattern(
    client: Any, database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    body = {"name": "Acme"}
    for key, status in (("a b-1_X", 201), ("é", 400), ("x" * 255, 201), ("x" * 256, 400)):
        headers: dict[str, Any] = {**owner.auth, "Idempotency-Key": key.encode("latin-1")}
        r = await client.post(f"{API}/orgs", json=body, headers=headers)
        assert r.status_code == status, (key, r.text)
