"""Several uvicorn workers need PROMETHEUS_MULTIPROC_DIR: the rule a starting API process
applies (its command line is the supervisor's, inherited through spawn)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.kernel.metrics import multiprocess_problem, uvicorn_workers

UVICORN = ["/srv/hub/bin/uvicorn", "--factory", "hub.app:create_app"]


@pytest.mark.parametrize(
    ("argv", "environ", "workers"),
    [
        (UVICORN, {}, 1),
        ([*UVICORN, "--workers", "4"], {}, 4),
        ([*UVICORN, "--workers=3"], {}, 3),
        (UVICORN, {"WEB_CONCURRENCY": "2"}, 2),
        ([*UVICORN, "--workers", "1"], {"WEB_CONCURRENCY": "8"}, 1),  # the option wins
        ([*UVICORN, "--reload"], {}, 1),
        ([*UVICORN, "--workers", "many"], {}, 1),  # uvicorn itself refuses that one
    ],
)
def test_the_worker_count_is_read_like_uvicorn_reads_it(
    argv: list[str], environ: dict[str, str], workers: int
) -> None:
    assert uvicorn_workers(argv, environ) == workers


def test_several_spawned_workers_need_a_multiprocess_directory(tmp_path: Path) -> None:
    several = [*UVICORN, "--workers", "2"]
    problem = multiprocess_problem(several, {}, spawned=True)
    assert problem is not None
    assert problem.startswith("PROMETHEUS_MULTIPROC_DIR must name")
    assert "2 workers" in problem
    missing = str(tmp_path / "nowhere")
    problem = multiprocess_problem(several, {"PROMETHEUS_MULTIPROC_DIR": missing}, spawned=True)
    assert problem is not None
    assert f"(got {missing!r}, not a directory)" in problem

    for environ in (
        {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
        {"prometheus_multiproc_dir": str(tmp_path)},
    ):
        assert multiprocess_problem(several, environ, spawned=True) is None


def test_one_process_needs_nothing() -> None:
    # `hub run`, the image's one process per container, `--reload`'s single child
    assert multiprocess_problem(UVICORN, {}, spawned=False) is None
    assert multiprocess_problem([*UVICORN, "--reload"], {}, spawned=True) is None
    assert multiprocess_problem(["hub", "worker", "--processes", "2"], {}, spawned=True) is None
