"""The personal-data hook across processes: each context's export read through its remote
adapter (a real ``hub run`` serving the four contexts) equals the in-process one, and the
kernel's collector built over remote adapters gives the archive identity answers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import context_modules
from hub.kernel.errors import DependencyUnavailable
from hub.kernel.personal_data import PersonalDataApi, PersonalDataExport
from hub.kernel.remote.interface import describe
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.wiring import assemble
from tests.integration.content.support import pdf, uploaded
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import create_org, person
from tests.integration.split.support import adapter, hub_process, remote_client

pytestmark = [pytest.mark.slow]

CONTEXTS = ("identity", "content", "communication", "workflow")


@pytest.fixture(scope="module")
def service(base_settings: Settings) -> Iterator[str]:
    with hub_process(base_settings, ",".join(CONTEXTS)) as (_, base):
        yield base


async def test_every_contexts_export_is_the_same_in_process_and_remote(
    service: str, kernel: Kernel, client: AsyncTestClient[Litestar], database_url: str
) -> None:
    ada = await person(client, database_url, "ada@example.com")
    org = (await create_org(client, ada))["id"]
    doc = await uploaded(client, ada, org, pdf(b"ada" * 30), title="Ada's")
    assemble(kernel, context_modules())
    user_id = uuid.UUID(ada.user_id)
    remote = {
        ctx: adapter(
            describe(ctx, PersonalDataApi, f"{ctx}_personal_data"),
            remote_client(kernel, ctx, service),
        )
        for ctx in CONTEXTS
    }
    for ctx in CONTEXTS:
        here = await kernel.services[f"{ctx}_personal_data"].export_personal_data(user_id)
        there = await remote[ctx].export_personal_data(user_id)
        assert there == here, ctx
    # The collector the export route uses, over remote adapters only.
    collector = PersonalDataExport(
        [(ctx, f"{ctx}_personal_data") for ctx in CONTEXTS],
        {f"{ctx}_personal_data": remote[ctx] for ctx in CONTEXTS},
    )
    archive = await collector.export(user_id)
    assert list(archive) == list(CONTEXTS)
    assert archive["identity"]["account"]["email"] == "ada@example.com"
    assert [d["id"] for d in archive["content"]["documentsOwned"]] == [doc["id"]]
    r = await client.get(f"{API}/auth/me/export", headers=ada.auth)
    assert r.json()["contexts"] == archive


async def test_a_context_that_cannot_be_reached_fails_the_export() -> None:
    """A context wired nowhere (not served here, no remote URL) is a 503, never an
    archive silently missing its part."""
    collector = PersonalDataExport([("content", "content_personal_data")], {})
    with pytest.raises(DependencyUnavailable, match="content context") as raised:
        await collector.export(uuid.uuid4())
    assert raised.value.status_code == 503
