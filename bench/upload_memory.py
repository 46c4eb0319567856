"""``python -m bench.upload_memory``: the API process's memory while it takes a big upload.

A real hub process (``bench.content_hub``: production settings, filesystem blob store)
receives ``--mb`` MiB (200 by default) through ``POST /api/v1/documents``, the file
generated while it is sent (the client never holds it). psutil samples the server
process's RSS every few milliseconds in a thread of this process: before (after one small
warm-up upload, so lazily loaded code and pools are already counted), during, and after.
The figure is the peak growth over the baseline; the bound the Content issue sets is
< 50 MB for 200 MB. ``tests/e2e/test_upload_memory.py`` asserts the same bound in the test
run.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from dataclasses import dataclass

import psutil

from bench.content_hub import MIB, ContentHub, Person, content_hub, prepare, stream_upload
from bench.servers import Server

BOUND_MB = 50.0


@dataclass(frozen=True)
class MemoryRun:
    size_mb: float
    baseline_mb: float
    peak_mb: float
    after_mb: float
    seconds: float
    samples: int

    @property
    def growth_mb(self) -> float:
        return self.peak_mb - self.baseline_mb


class RssSampler:
    """The highest RSS a process reaches while the ``with`` block runs."""

    def __init__(self, pid: int, interval_s: float = 0.005) -> None:
        self._proc = psutil.Process(pid)
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak = 0
        self.samples = 0

    def rss(self) -> int:
        return int(self._proc.memory_info().rss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self.samples += 1
            self._stop.wait(self._interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


def measure(hub: Server, who: Person, organisation_id: str, size: int) -> MemoryRun:
    assert hub.pid is not None
    stream_upload(hub, who, organisation_id, 64 * 1024)  # warm-up: code paths and pools
    sampler = RssSampler(hub.pid)
    baseline = sampler.rss()
    started = time.perf_counter()
    with sampler:
        document = stream_upload(hub, who, organisation_id, size, seed=uuid.uuid4().hex)
    seconds = time.perf_counter() - started
    if document["size"] != size:
        raise SystemExit(f"the hub stored {document['size']} bytes, not {size}")
    return MemoryRun(
        size_mb=size / MIB,
        baseline_mb=baseline / MIB,
        peak_mb=sampler.peak / MIB,
        after_mb=sampler.rss() / MIB,
        seconds=seconds,
        samples=sampler.samples,
    )


def run_on(ctx: ContentHub, size: int) -> MemoryRun:
    with ctx.server() as hub:
        assert ctx.owner is not None
        return measure(hub, ctx.owner, ctx.organisation_id, size)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mb", type=int, default=200, help="size of the upload in MiB")
    p.add_argument("--backends", choices=("auto", "local", "embedded"), default="auto")
    p.add_argument("--redis-db", type=int, default=6)
    args = p.parse_args(argv)
    with content_hub(prefer=args.backends, redis_db=args.redis_db) as ctx:
        print(f"backends: {ctx.backends.description}")
        prepare(ctx, with_member=False)
        run = run_on(ctx, args.mb * MIB)
    verdict = "PASS" if run.growth_mb < BOUND_MB else "OVER"
    print(
        f"{run.size_mb:.0f} MiB upload in {run.seconds:.1f} s: RSS {run.baseline_mb:.1f} MiB "
        f"before, peak {run.peak_mb:.1f} MiB ({run.samples} samples), {run.after_mb:.1f} MiB "
        f"after; peak growth {run.growth_mb:.1f} MiB"
    )
    print(f"{verdict} peak growth {run.growth_mb:.1f} MiB (bound: < {BOUND_MB:.0f} MB)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
