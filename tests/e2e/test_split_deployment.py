"""The split deployment, end to end: identity alone in one ``hub run`` (with its worker), the
other three contexts in another (with theirs), nginx in front as the one entry point. The
black-box journeys of the monolith — sign-up, organisation, roles and invitations, upload,
share, notification, approval — give the same results through the proxy; identity's events
reach the audit trail kept by the other service, under the request's correlation id.
Stopping identity makes the other service answer 503 problem+json within the configured
timeout (breaker open), and it recovers once identity is back."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_sync

from hub.kernel.settings import Settings
from tests.e2e.nginx import nginx, nginx_skip_reason
from tests.integration.communication.support import inbox
from tests.integration.content.support import DOCS, pdf, uploaded
from tests.integration.identity.support import API
from tests.integration.split.support import HUB, hub_env, stop, wait_until_up
from tests.integration.workflow.support import move, published, started, team
from tests.support import free_port, problem

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ARRIVAL_TIMEOUT_S = 30  # a failure bound for a loaded machine, not a speed claim
REMOTE_TIMEOUT_MS = 500
BREAKER_RESET_S = 2


@dataclass
class Split:
    proxy: str
    identity_port: int
    identity: subprocess.Popen[bytes]
    env: dict[str, str]

    def start_identity(self) -> None:
        self.identity = _start(self.env, "identity", self.identity_port)
        wait_until_up(self.identity, f"http://127.0.0.1:{self.identity_port}")


def _start(env: dict[str, str], contexts: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(HUB), "run", "--port", str(port), "--no-migrate", "--worker", "--contexts", contexts],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


@pytest.fixture
def split(settings: Settings, clean_state: None, tmp_path: Path) -> Iterator[Split]:
    reason = nginx_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    identity_port, rest_port, proxy_port = free_port(), free_port(), free_port()
    proxy = f"http://127.0.0.1:{proxy_port}"
    env = hub_env(
        settings,
        HUB_DATA_DIR=str(tmp_path / "hubdata"),
        HUB_PUBLIC_URL=proxy,
        HUB_TRUSTED_PROXIES="127.0.0.1/32",
        HUB_RATE_LIMIT_READS="100000/60",
    )
    rest_env = {
        **env,
        "HUB_REMOTE_IDENTITY_URL": f"http://127.0.0.1:{identity_port}",
        "HUB_REMOTE_TIMEOUT_MS": str(REMOTE_TIMEOUT_MS),
        "HUB_REMOTE_RETRIES": "1",
        "HUB_REMOTE_BREAKER_FAILURES": "3",
        "HUB_REMOTE_BREAKER_RESET_S": str(BREAKER_RESET_S),
    }
    identity = _start(env, "identity", identity_port)
    rest = _start(rest_env, "content,communication,workflow", rest_port)
    deployment = Split(proxy, identity_port, identity, env)
    try:
        wait_until_up(identity, f"http://127.0.0.1:{identity_port}")
        wait_until_up(rest, f"http://127.0.0.1:{rest_port}")
        upstreams = {
            "HUB_IDENTITY": f"127.0.0.1:{identity_port}",
            **{
                f"HUB_{name}": f"127.0.0.1:{rest_port}"
                for name in ("CONTENT", "COMMUNICATION", "WORKFLOW", "DEFAULT")
            },
        }
        with nginx(tmp_path / "nginx", proxy_port, upstreams):
            yield deployment
    finally:
        stop(rest)
        stop(deployment.identity)


async def _eventually(check: Any, what: str) -> Any:
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} did not happen"
        await asyncio.sleep(0.2)


async def test_the_journeys_run_through_the_proxy_and_survive_identity_going_away(
    split: Split, database_url: str, redis_url: str
) -> None:
    async with httpx.AsyncClient(base_url=split.proxy, timeout=30) as hub:
        # Identity: sign-up, verification, sign-in, an organisation, a custom role naming
        # other contexts' permissions (the catalogue is whole), invitations accepted.
        owner, org, people = await team(hub, database_url)
        ann = people["ann"]
        me = await hub.get(f"{API}/auth/me", headers=ann.auth)
        assert me.status_code == 200, me.text

        # Content (other service; tokens verified there with identity's keys, memberships
        # asked over the internal API): upload, then share with Ann.
        document = await uploaded(hub, owner, org, pdf(b"split"), title="Split report")
        r = await hub.put(
            f"{DOCS}/{document['id']}/permissions",
            json={"restricted": True, "shares": [{"userId": ann.user_id, "access": "view"}]},
            headers=owner.auth,
        )
        assert r.status_code == 200, r.text
        seen = await hub.get(f"{DOCS}/{document['id']}", headers=ann.auth)
        assert seen.status_code == 200, seen.text
        outsider = people["cy"]
        assert (await hub.get(f"{DOCS}/{document['id']}", headers=outsider.auth)).status_code == 404

        # Communication: the share became a notification in Ann's inbox (content's event,
        # relayed to communication's own queue, handled by that service's worker).
        async def shared_notice() -> list[dict[str, Any]]:
            items = await inbox(hub, ann)
            return [
                i for i in items if i["category"] == "documents" and "Split report" in i["title"]
            ]

        [notice] = await _eventually(shared_notice, "the document.shared notification")
        assert notice["title"] == "Alice shared “Split report” with you"  # actor from identity

        # Workflow: an approval by a member holding the custom role.
        await published(hub, owner, org)
        instance = await started(hub, owner, org)
        r = await move(hub, ann, instance, "approve")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "approved"

        # Identity's events reach the audit trail the other service keeps, under the
        # correlation id of the request that caused them.
        r = await hub.patch(
            f"{API}/orgs/{org}",
            json={"name": "Split Supplies"},
            headers={**owner.auth, "X-Request-Id": "split-rename-1"},
        )
        assert r.status_code == 200, r.text

        async def renamed() -> list[dict[str, Any]]:
            r = await hub.get(
                f"{API}/audit", params={"organisationId": org, "limit": 100}, headers=owner.auth
            )
            assert r.status_code == 200, r.text
            return [i for i in r.json()["items"] if i["correlationId"] == "split-rename-1"]

        [entry] = await _eventually(renamed, "the identity event in the audit trail")
        assert entry["action"] == "identity.organisation_updated"

        # Identity goes away: the other service answers 503 problem+json, quickly.
        stop(split.identity)
        listing = {"organisationId": org}
        for _ in range(4):
            started_at = time.monotonic()
            r = await hub.get(DOCS, params=listing, headers=owner.auth)
            elapsed = time.monotonic() - started_at
            assert r.status_code == 503, r.text
            body = problem(r)
            assert body["code"] == "dependency_unavailable"
            assert body["extra"] == {"dependency": "identity service"}
            assert r.headers["retry-after"]
            # Two attempts of REMOTE_TIMEOUT_MS at most, plus the machine's slack.
            assert elapsed < 2 * REMOTE_TIMEOUT_MS / 1000 + 3
        state = redis_sync.Redis.from_url(redis_url).hget("hub:remote:breaker:identity", "state")
        assert state == b"opened"

        # Identity is back: after the reset period one trial call closes the breaker.
        split.start_identity()

        async def listed() -> bool:
            r = await hub.get(DOCS, params=listing, headers=owner.auth)
            return r.status_code == 200 and any(
                d["id"] == document["id"] for d in r.json()["items"]
            )

        await _eventually(listed, "recovery after identity came back")
