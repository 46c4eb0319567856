"""A frontend's typed client, generated from the live document, compiles under
``tsc --strict`` and works: it signs in (a user made verified through the CLI), reads
``/auth/me`` and reads the typed ``code`` and ``detail`` of a 401.

TypeScript types come from openapi-typescript, calls go through openapi-fetch — what a
frontend would use. The pinned toolchain is installed once with npm under ``.cache/``
(ignored by git). Skipped, saying why, where Node.js or npm is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.kernel.settings import Settings
from tests.support import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TOOLCHAIN = ROOT / ".cache" / "typed-client"
HUB = Path(sys.executable).with_name("hub")
#: The frontend toolchain under test (exact versions: the test must not drift by itself).
PACKAGE = {
    "name": "hub-typed-client-test",
    "private": True,
    "type": "module",
    "devDependencies": {
        "openapi-fetch": "0.17.0",
        "openapi-typescript": "7.13.0",
        "typescript": "5.9.3",
    },
}
EMAIL = "ada@example.com"
PASSWORD = "typed client passphrase"

CLIENT = """\
import createClient from "openapi-fetch";
import type { components, paths } from "./api.js";
import { baseUrl, email, password } from "./config.js";

type Problem = components["schemas"]["Problem"];

const client = createClient<paths>({ baseUrl });

const login = await client.POST("/api/v1/auth/login", { body: { email, password } });
if (login.error !== undefined) {
  throw new Error(`sign-in refused: ${login.error.code}`);
}
if (login.data.status !== "authenticated") {
  throw new Error("a second factor was asked for");
}
const token: string = login.data.accessToken;

const me = await client.GET("/api/v1/auth/me", {
  headers: { Authorization: `Bearer ${token}` },
});
if (me.error !== undefined) {
  throw new Error(me.error.code);
}
const address: string = me.data.email;
const verified: boolean = me.data.emailVerified;

const anonymous = await client.GET("/api/v1/auth/me");
if (anonymous.error === undefined) {
  throw new Error("/auth/me answered without credentials");
}
const problem: Problem = anonymous.error;
const code: string = anonymous.error.code;
const detail: string = anonymous.error.detail;
const status: number = problem.status;
console.log(JSON.stringify({ address, verified, status, code, detail }));
"""

#: Misuses of the generated types that tsc --strict must refuse: proof the bodies are typed
#: (an ``any`` would let every line through).
MISUSES = {
    "code_is_a_string": """
const r = await client.GET("/api/v1/auth/me");
if (r.error !== undefined) { const n: number = r.error.code; console.log(n); }
""",
    "no_such_field": """
const r = await client.GET("/api/v1/auth/me");
if (r.error !== undefined) { console.log(r.error.stackTrace); }
""",
    "body_checked": """
await client.POST("/api/v1/auth/login", { body: { email: "a@example.com" } });
""",
}

TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        "target": "ES2022",
        "module": "NodeNext",
        "moduleResolution": "NodeNext",
        "lib": ["ES2022", "DOM"],
        "skipLibCheck": True,
        "outDir": "out",
    },
    "files": ["client.ts"],
}


def _run(args: list[str], cwd: Path, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def toolchain() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(
            "Node.js and npm are not installed: the typed-client test (openapi-typescript, "
            "openapi-fetch, tsc --strict) needs them"
        )
    TOOLCHAIN.mkdir(parents=True, exist_ok=True)
    manifest = json.dumps(PACKAGE, indent=2) + "\n"
    stamp = TOOLCHAIN / "node_modules" / ".hub-installed"
    package = TOOLCHAIN / "package.json"
    if not stamp.exists() or stamp.read_text() != manifest:
        package.write_text(manifest)
        done = _run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], TOOLCHAIN, 600)
        assert done.returncode == 0, f"npm install failed:\n{done.stdout}\n{done.stderr}"
        stamp.write_text(manifest)
    return TOOLCHAIN


@pytest.fixture
def workdir(toolchain: Path) -> Iterator[Path]:
    # Inside the toolchain folder, so node finds openapi-fetch in its node_modules.
    path = Path(tempfile.mkdtemp(prefix="run-", dir=toolchain))
    (path / "package.json").write_text('{"type": "module"}\n')
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _verified_user(settings: Settings) -> None:
    """A verified account made the way an operator makes one: ``hub users create``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_ENV="test",
        HUB_DATABASE_URL=str(settings.database_url),
        HUB_REDIS_URL=str(settings.redis_url),
        HUB_DATA_DIR=str(settings.data_dir),
        HUB_NEW_USER_PASSWORD=PASSWORD,
    )
    subprocess.run(
        [str(HUB), "users", "create", EMAIL, "--name", "Ada"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def test_the_generated_client_compiles_strictly_and_reads_typed_problems(
    toolchain: Path, workdir: Path, live_server: LiveServer, settings: Settings
) -> None:
    _verified_user(settings)
    document = httpx.get(live_server.url + "/api/openapi.json", timeout=10)
    assert document.status_code == 200
    (workdir / "openapi.json").write_bytes(document.content)
    bin_dir = toolchain / "node_modules" / ".bin"

    generated = _run(
        [str(bin_dir / "openapi-typescript"), "openapi.json", "-o", "api.d.ts"], workdir
    )
    assert generated.returncode == 0, generated.stderr
    (workdir / "config.ts").write_text(
        f"export const baseUrl = {json.dumps(live_server.url)};\n"
        f"export const email = {json.dumps(EMAIL)};\n"
        f"export const password = {json.dumps(PASSWORD)};\n"
    )
    (workdir / "client.ts").write_text(CLIENT)
    (workdir / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    compiled = _run([str(bin_dir / "tsc"), "-p", "tsconfig.json"], workdir)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr

    ran = _run(["node", "out/client.js"], workdir, timeout=60)
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    assert result == {
        "address": EMAIL,
        "verified": True,
        "status": 401,
        "code": "authentication_required",
        "detail": "Authentication required.",
    }

    head = CLIENT.split("const login", 1)[0]
    for name, misuse in MISUSES.items():
        (workdir / f"{name}.ts").write_text(head + misuse)
        config = {**TSCONFIG, "files": [f"{name}.ts"]}
        (workdir / f"{name}.json").write_text(json.dumps(config))
        refused = _run([str(bin_dir / "tsc"), "-p", f"{name}.json", "--noEmit"], workdir)
        assert refused.returncode != 0, f"tsc --strict accepted the misuse {name!r}"
        assert "error TS" in refused.stdout, refused.stdout
