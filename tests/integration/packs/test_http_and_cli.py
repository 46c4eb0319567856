"""Packs over HTTP are for platform administrators only and refuse an invalid pack whole;
the `hub pack` commands do what an operator expects (every problem listed, exit 1; a
second apply prints "no changes"; export writes a directory that applies cleanly)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.cli import main as hub_main
from hub.kernel.settings import Settings
from hub.packs.files import read_pack
from hub.packs.shipped import pack_path
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import create_org, person, roles_by_name
from tests.integration.packs.support import as_json, copy_of, edit, platform_admin
from tests.support import problem

Client = AsyncTestClient[Litestar]


def _cli(settings: Settings, *args: str) -> tuple[int, str]:
    env = {"HUB_DATABASE_URL": settings.database_url, "HUB_REDIS_URL": settings.redis_url}
    result = CliRunner().invoke(hub_main, ["pack", *args], env=env)
    return result.exit_code, result.output


async def test_only_platform_administrators_use_packs(client: Client, database_url: str) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner, "Ville de Lyon"))["id"]
    document = as_json(read_pack(pack_path("procurement"))[0])
    for method, path, body in (
        ("GET", "/packs", None),
        ("GET", "/packs/procurement", None),
        ("POST", "/packs/validate", document),
        ("PUT", f"/orgs/{org}/pack", document),
        ("GET", f"/orgs/{org}/pack", None),
    ):
        r = await client.request(method, f"{API}{path}", json=body, headers=owner.auth)
        assert r.status_code == 403, (path, r.text)
        assert problem(r)["code"] == "platform_admin_required"
        anonymous = await client.request(method, f"{API}{path}", json=body)
        assert anonymous.status_code == 401, path
    assert "buyer" not in await roles_by_name(client, org, owner)


async def test_an_invalid_pack_is_refused_whole_with_every_problem(
    client: Client, database_url: str, tmp_path: Path
) -> None:
    root = await platform_admin(client, database_url)
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner, "Ville de Lyon"))["id"]
    copy = copy_of("procurement", tmp_path)
    edit(
        copy / "roles.yaml",
        "      - content.documents.delete\n",
        "      - content.documents.burn\n",
    )
    edit(copy / "workflows" / "consultation.yaml", "roles: [buyer, evaluator]", "roles: [jury]")
    document = as_json(read_pack(copy)[0])

    r = await client.post(f"{API}/packs/validate", json=document, headers=root.auth)
    assert r.status_code == 200, r.text
    assert r.json()["valid"] is False
    assert len(r.json()["problems"]) == 2

    r = await client.put(f"{API}/orgs/{org}/pack", json=document, headers=root.auth)
    assert r.status_code == 422, r.text
    body = problem(r)
    assert body["code"] == "invalid_pack"
    fields = [e["field"] for e in body["errors"]]
    assert fields[0] == "roles.yaml: roles[0].permissions"
    assert fields[1].startswith("workflows/consultation.yaml: transitions[2].actions[0].to")
    # nothing of it was applied: not even the valid roles
    assert "supplier" not in await roles_by_name(client, org, owner)

    unknown = "01a22bb9-93a5-7076-9135-132e720dfea5"
    r = await client.put(
        f"{API}/orgs/{unknown}/pack",
        json=as_json(read_pack(pack_path("medical"))[0]),
        headers=root.auth,
    )
    assert r.status_code == 404
    r = await client.put(
        f"{API}/orgs/{org}/pack", json={"pack": {"name": "x", "version": "1"}}, headers=root.auth
    )
    assert r.status_code == 400
    assert (await client.get(f"{API}/packs/nonesuch", headers=root.auth)).status_code == 404
    listed = (await client.get(f"{API}/packs", headers=root.auth)).json()["items"]
    assert [p["name"] for p in listed] == ["procurement", "medical"]


async def test_the_pack_commands(
    client: Client, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner, "Cabinet Pasteur"))["id"]
    fresh = (await create_org(client, owner, "Cabinet Curie"))["id"]

    code, out = await asyncio.to_thread(_cli, settings, "validate", "medical")
    assert (code, out.strip()) == (0, "medical 1.0.0: valid")
    broken = copy_of("medical", tmp_path)
    edit(broken / "roles.yaml", "      - identity.org.read\n", "      - identity.org.rule\n")
    (broken / "extra.yaml").write_text("x: 1\n")
    code, out = await asyncio.to_thread(_cli, settings, "validate", str(broken))
    assert code == 1
    assert "2 problem(s)" in out
    assert "extra.yaml: not a file of the pack format" in out
    assert "roles.yaml: roles[0].permissions: 'identity.org.rule' is not in the catalogue" in out

    code, out = await asyncio.to_thread(
        _cli, settings, "apply", "medical", "--org", "Cabinet Pasteur"
    )
    assert code == 0, out
    assert "created  role practitioner" in out
    assert "created  workflow care-pathway (version 1)" in out
    code, out = await asyncio.to_thread(_cli, settings, "apply", "medical", "--org", org)
    assert (code, out.strip()) == (0, "medical 1.0.0: no changes")
    code, out = await asyncio.to_thread(_cli, settings, "apply", str(broken), "--org", org)
    assert code == 1
    assert "nothing applied" in out
    code, out = await asyncio.to_thread(_cli, settings, "apply", "medical", "--org", "Nowhere")
    assert code == 1
    assert "no organisation 'Nowhere'" in out

    target = tmp_path / "exported"
    code, out = await asyncio.to_thread(
        _cli, settings, "export", "--org", org, "--out", str(target)
    )
    assert code == 0, out
    assert (target / "workflows" / "care-pathway.yaml").exists()
    exported, found = read_pack(target)
    assert found == []
    assert exported is not None
    assert exported.pack.name == "cabinet-pasteur"
    code, out = await asyncio.to_thread(_cli, settings, "apply", str(target), "--org", fresh)
    assert code == 0, out
    assert {"practitioner", "staff", "patient"} <= set(await roles_by_name(client, fresh, owner))
