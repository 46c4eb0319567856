"""The Dockerfile and compose.yaml keep uploaded files (there is no container engine on the
test machines, so the files are read): the image's hub user owns HUB_DATA_DIR, and the
API and the worker share one volume for the blob store's default directory — the API
writes uploads there, the worker's thumbnail and text-extraction jobs read them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1].parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())


def _final_stage() -> str:
    return DOCKERFILE.rsplit("\nFROM ", 1)[1]


def _env(name: str) -> str:
    found = re.search(rf"\b{name}=(\S+)", _final_stage())
    assert found, f"{name} is not set in the image"
    return found.group(1)


def test_the_hub_user_owns_the_data_directory_before_it_takes_over() -> None:
    stage = _final_stage()
    data_dir = _env("HUB_DATA_DIR")
    run = stage.index(f"mkdir -p {data_dir}/blobs")
    chown = stage.index(f"chown -R hub:hub {data_dir}")
    assert run < chown < stage.index("\nUSER hub")


def test_the_api_and_the_worker_share_the_blob_volume() -> None:
    blobs = f"{_env('HUB_DATA_DIR')}/blobs"
    services = COMPOSE["services"]
    assert "HUB_STORAGE_URL" not in services["api"]["environment"]  # the default: files
    mounts = {name: set(services[name].get("volumes", [])) for name in ("api", "worker")}
    (volume,) = {m.split(":")[0] for m in mounts["api"] if m.endswith(f":{blobs}")}
    assert f"{volume}:{blobs}" in mounts["worker"]
    assert volume in COMPOSE["volumes"]  # a named volume, kept across `up --build`


def test_the_base_image_is_pinned_by_digest() -> None:
    """A tag moves under the same name: a rebuild would silently take new system libraries."""
    default = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, re.M)
    assert default, "the base image is not a build argument"
    assert re.fullmatch(r"python:3\.11-slim@sha256:[0-9a-f]{64}", default.group(1))
    assert DOCKERFILE.count("FROM ${PYTHON_IMAGE}") == 2  # both stages
