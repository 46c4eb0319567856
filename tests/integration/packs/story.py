"""What the two stories share: a cast of people, documents, the inbox, the audit trail."""

from __future__ import annotations

import json
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.packs.files import read_pack
from hub.packs.shipped import pack_path
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import Person
from tests.integration.packs.support import as_json

Client = AsyncTestClient[Litestar]
DOCS = f"{API}/documents"
INSTANCES = f"{API}/workflow-instances"


async def apply_shipped(client: Client, root: Person, org: str, name: str) -> dict[str, Any]:
    document, _ = read_pack(pack_path(name))
    r = await client.put(f"{API}/orgs/{org}/pack", json=as_json(document), headers=root.auth)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def ids_by_name(client: Client, who: Person, org: str, what: str) -> dict[str, str]:
    r = await client.get(f"{API}/orgs/{org}/{what}", headers=who.auth, params={"limit": 100})
    assert r.status_code == 200, r.text
    return {i.get("name") or i["key"]: i["id"] for i in r.json()["items"]}


async def upload(
    client: Client,
    who: Person,
    org: str,
    title: str,
    text: str,
    *,
    type_id: str | None = None,
    fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"organisationId": org, "title": title}
    if type_id is not None:
        data["documentTypeId"] = type_id
    if fields is not None:
        data["customFields"] = json.dumps(fields)
    r = await client.post(
        DOCS,
        data=data,
        files={"file": (f"{title[:20]}.txt", text.encode(), "text/plain")},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def share(
    client: Client, who: Person, document_id: str, restricted: bool, **targets: list[str]
) -> None:
    shares = [{"roleId": r, "access": "view"} for r in targets.get("roles", [])]
    shares += [{"userId": u, "access": "view"} for u in targets.get("users", [])]
    r = await client.put(
        f"{DOCS}/{document_id}/permissions",
        json={"restricted": restricted, "shares": shares},
        headers=who.auth,
    )
    assert r.status_code == 200, r.text


async def status_of(client: Client, who: Person, document_id: str) -> int:
    return (await client.get(f"{DOCS}/{document_id}", headers=who.auth)).status_code


async def inbox(client: Client, who: Person) -> list[str]:
    r = await client.get(f"{API}/notifications", headers=who.auth)
    assert r.status_code == 200, r.text
    return [i["title"] for i in r.json()["items"]]


async def move(
    client: Client, who: Person, instance: dict[str, Any], transition: str, **data: Any
) -> Any:
    return await client.post(
        f"{INSTANCES}/{instance['id']}/transitions",
        json={"transition": transition, "expectedVersion": instance["version"], "data": data},
        headers=who.auth,
    )


async def instance(client: Client, who: Person, instance_id: str) -> dict[str, Any]:
    r = await client.get(f"{INSTANCES}/{instance_id}", headers=who.auth)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def audit_of(client: Client, who: Person, org: str, **filters: str) -> list[dict[str, Any]]:
    r = await client.get(
        f"{API}/audit", params={"organisationId": org, "limit": 100, **filters}, headers=who.auth
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def verified(client: Client, who: Person, org: str) -> None:
    r = await client.get(f"{API}/audit/verify", params={"organisationId": org}, headers=who.auth)
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True, r.json()
