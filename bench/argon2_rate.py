"""The machine's password-hashing capacity: the ceiling for sign-ins per second.

``argon2.PasswordHasher.verify`` with the hub's production parameters (read from
:class:`hub.identity.domain.settings.IdentitySettings`' defaults: argon2id, t=2, m=19 MiB, p=1) in
``os.cpu_count()`` threads for a fixed time — what the hub's hasher does (argon2-cffi
releases the GIL; the hub allows one hash per core at a time). Runs in the harness
process, with no server, and reports like a scenario: verifications/s, their latency and
CPU ms per 1,000 verifications, so a login's CPU can be divided by a hash's.
"""

from __future__ import annotations

import os
import statistics
import threading
import time

import argon2

from bench.accounts import PASSWORD
from bench.load import LoadResult
from hub.identity.domain.settings import IdentitySettings


def hasher() -> argon2.PasswordHasher:
    s = IdentitySettings()
    return argon2.PasswordHasher(
        time_cost=s.password_hash_time_cost,
        memory_cost=s.password_hash_memory_kib,
        parallelism=s.password_hash_parallelism,
        hash_len=32,
        salt_len=16,
        type=argon2.Type.ID,
    )


def measure(seconds: float) -> tuple[LoadResult, float]:
    """Verifications in every core's thread for ``seconds``: the result and CPU seconds."""
    ph = hasher()
    stored = ph.hash(PASSWORD)
    ph.verify(stored, PASSWORD)  # warm: the first call maps the memory
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds

    def work() -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            ph.verify(stored, PASSWORD)
            latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=work) for _ in range(os.cpu_count() or 1)]
    cpu_before = time.process_time()  # every thread of this process
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu = time.process_time() - cpu_before
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    result = LoadResult(len(latencies), 0, elapsed, cuts[49] * 1000, cuts[98] * 1000)
    return result, cpu
