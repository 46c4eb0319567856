"""A light, paced latency probe: one keep-alive connection, one GET every ``interval``.

Run in its own process beside a load generator (``python -m bench.latency_probe URL
--seconds 5 --interval 0.01``) so it shares no interpreter with the load, and prints one
JSON line: how many requests, how many failed, p50/p99/max in ms. Latency is counted from the
moment each request is sent; a request that comes back late delays the next one (it
does not queue them up), so a blocked event loop shows as a few slow samples.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class ProbeResult:
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def probe(url: str, *, seconds: float, interval: float, delay: float = 0.0) -> ProbeResult:
    parts = urlsplit(url)
    if parts.hostname not in {"127.0.0.1", "::1", "localhost"}:
        raise ValueError(f"refusing to probe a non-loopback address: {url}")
    if delay:
        time.sleep(delay)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    deadline = start + seconds
    due = start
    try:
        while due < deadline:
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            t0 = time.perf_counter()
            try:
                conn.request("GET", parts.path or "/")
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors += 1
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
                continue
            finally:
                due += interval
            latencies.append((time.perf_counter() - t0) * 1000)
    finally:
        conn.close()
    if len(latencies) < 2:
        return ProbeResult(len(latencies), errors, 0.0, 0.0, max(latencies, default=0.0))
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return ProbeResult(len(latencies), errors, cuts[49], cuts[98], max(latencies))


def start(url: str, *, seconds: float, interval: float, delay: float) -> subprocess.Popen[str]:
    """The probe in a child process; read its result with :func:`result`."""
    cmd = [sys.executable, "-m", "bench.latency_probe", url, "--seconds", str(seconds)]
    cmd += ["--interval", str(interval), "--delay", str(delay)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


def result(proc: subprocess.Popen[str]) -> ProbeResult:
    out, _ = proc.communicate(timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"the latency probe failed (exit status {proc.returncode})")
    return ProbeResult(**json.loads(out.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.latency_probe", description=__doc__)
    p.add_argument("url")
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--interval", type=float, default=0.01)
    p.add_argument("--delay", type=float, default=0.0, help="wait this long before the first")
    args = p.parse_args(argv)
    r = probe(args.url, seconds=args.seconds, interval=args.interval, delay=args.delay)
    print(json.dumps(vars(r)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
