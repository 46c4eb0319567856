"""nginx in front of hub processes, rendered from ``deploy/nginx/hub-split.conf.template``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "hub-split.conf.template"
START_TIMEOUT_S = 20


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found is None and os.access("/usr/sbin/nginx", os.X_OK):
        found = "/usr/sbin/nginx"
    return found


def nginx_skip_reason() -> str | None:
    if nginx_binary() is None:
        return "nginx is not installed (.ci/run installs nginx-light)"
    return None


def render(values: Mapping[str, str]) -> str:
    """The template with its ``${HUB_*}`` filled in, as ``envsubst '$HUB_LISTEN …'`` does
    (nginx's own ``$host`` and friends untouched); a placeholder without a value is refused."""
    return re.sub(r"\$\{(HUB_[A-Z_]+)\}", lambda m: values[m.group(1)], TEMPLATE.read_text())


@contextmanager
def nginx(directory: Path, port: int, upstreams: Mapping[str, str]) -> Iterator[str]:
    """nginx on ``port`` routing to ``upstreams`` (``HUB_IDENTITY`` … ``HUB_DEFAULT``:
    host:port); yields its base URL."""
    binary = nginx_binary()
    assert binary is not None
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "hub.conf").write_text(render({"HUB_LISTEN": f"127.0.0.1:{port}", **upstreams}))
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (directory / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} warn;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        "    access_log off;\n"
        f"{temp}\n"
        f"    include {directory / 'hub.conf'};\n"
        "}\n"
    )
    proc = subprocess.Popen(
        [binary, "-p", str(directory), "-c", str(directory / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise AssertionError(f"nginx exited with {proc.returncode}: {err[-2000:]}")
            try:
                httpx.get(base + "/internal/", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
