"""Bounded concurrent HTTP load for the API benchmark: N client processes, each on one keep-alive connection.

`run_phase()` sends a fixed list of requests, dealt round robin to `clients` processes (fork),
which all start at the same instant and send their share back to back (a closed loop: a client
sends its next request when the answer to the previous one has been read). Every request is
timed with `perf_counter` from sending it to reading the last byte of its answer. A *sample* may
be a group of requests sent one after the other (Airflow needs two calls to show a run with its
task instances): its time is the group's. Processes, not threads, so that the clients' own
Python does not queue the timings behind one GIL.

Each client first sends `warmup` samples of its own (untimed). Any answer but the expected
status counts as a failure (not timed), and the first few are kept with their bodies.

Stdlib only: importable from any interpreter.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import socket
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

import _machine  # the benchmarks directory is on sys.path wherever this module is imported

# (method, path, body or None, expected status)
Request = tuple[str, str, bytes | None, int]
Sample = tuple[str, Sequence[Request]]  # (label, requests sent one after the other)


def summary(times_ms: Sequence[float]) -> dict[str, Any]:
    s = sorted(times_ms)
    if not s:
        return {"count": 0}
    pct = _machine.percentile
    return {"count": len(s), "p50_ms": round(pct(s, 50), 3), "p90_ms": round(pct(s, 90), 3),
            "p99_ms": round(pct(s, 99), 3), "max_ms": round(s[-1], 3),
            "mean_ms": round(statistics.fmean(s), 3)}


def _connect(host: str, port: int, timeout: float) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def _client(host: str, port: int, headers: Mapping[str, str], warmup: Sequence[Sample], samples: Sequence[Sample],
            start_at: float, timeout: float, out: Any) -> None:
    """One client process: warm up, wait for the common start, send its samples; results to `out`."""
    perf = time.perf_counter
    times: list[tuple[str, float]] = []
    failures: list[str] = []
    failed = 0
    try:
        conn = _connect(host, port, timeout)

        def send(req: Request) -> bool:
            nonlocal conn, failed
            method, path, body, expect = req
            hdrs = dict(headers)
            if body is not None:
                hdrs["Content-Type"] = "application/json"
            try:
                conn.request(method, path, body=body, headers=hdrs)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                failed += 1
                if len(failures) < 5:
                    failures.append(f"{method} {path}: {exc!r}")
                conn.close()
                conn = _connect(host, port, timeout)
                return False
            if resp.status != expect:
                failed += 1
                if len(failures) < 5:
                    failures.append(f"{method} {path}: HTTP {resp.status} {data[:300]!r}")
                return False
            return True

        for _label, reqs in warmup:
            for req in reqs:
                send(req)
        warm_failed = failed
        failed = 0
        delay = start_at - time.time()
        if delay > 0:
            time.sleep(delay)
        t_start = time.time()
        for label, reqs in samples:
            t0 = perf()
            ok = all([send(req) for req in reqs])  # every request of the group is sent, even after a failure
            if ok:
                times.append((label, (perf() - t0) * 1000.0))
        t_end = time.time()
        conn.close()
        out.put({"times": times, "failed": failed, "warmup_failed": warm_failed, "failures": failures,
                 "start": t_start, "end": t_end})
    except BaseException as exc:  # noqa: BLE001 - report it to the parent, whatever it is
        out.put({"error": repr(exc), "times": times, "failed": failed, "failures": failures,
                 "start": time.time(), "end": time.time()})


def run_phase(base: str, headers: Sequence[Mapping[str, str]], samples: Sequence[Sample], *, clients: int = 8,
              warmup_per_client: int = 10, timeout: float = 60.0, keep_times: bool = False) -> dict[str, Any]:
    """Send `samples` from `clients` concurrent processes (round robin); latency summary overall
    and per label, requests/s over the phase, failures. Client i sends `headers[i % len(headers)]`
    (e.g. its own token). `keep_times`: the timings themselves under `times` (ms), to pool phases."""
    host, _, port = base.removeprefix("http://").partition(":")
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    shares = [list(samples[i::clients]) for i in range(clients)]
    warm = [[samples[(i + k * clients) % len(samples)] for k in range(warmup_per_client)] for i in range(clients)]
    # The common start: late enough for every client to have warmed up (checked below).
    start_at = time.time() + 1.0 + 0.05 * warmup_per_client * max(1, len(samples[0][1]))
    procs = [ctx.Process(target=_client, daemon=True,
                         args=(host, int(port), dict(headers[i % len(headers)]), warm[i], shares[i], start_at,
                               timeout, out))
             for i in range(clients)]
    for p in procs:
        p.start()
    results = [out.get(timeout=timeout * (len(samples) // clients + warmup_per_client + 10)) for _ in procs]
    for p in procs:
        p.join(10)
    errors = [r["error"] for r in results if "error" in r]
    times = [t for r in results for _, t in r["times"]]
    by_label: dict[str, list[float]] = {}
    for r in results:
        for label, t in r["times"]:
            by_label.setdefault(label, []).append(t)
    first, last = min(r["start"] for r in results), max(r["end"] for r in results)
    late = max(r["start"] for r in results) - start_at
    requests = sum(len(reqs) for _, reqs in samples)
    out_: dict[str, Any] = {
        **summary(times),
        "clients": clients,
        "requests_per_sample": max(len(reqs) for _, reqs in samples),
        "wall_s": round(last - first, 3),
        "samples_per_s": round(len(times) / (last - first), 1) if last > first else None,
        "requests_per_s": round(requests / (last - first), 1) if last > first else None,
        "failed": sum(r["failed"] for r in results),
        "warmup_failed": sum(r.get("warmup_failed", 0) for r in results),
        "failures": [f for r in results for f in r["failures"]][:5],
        "start_skew_s": round(late, 3),
    }
    if len(by_label) > 1:
        out_["by_label"] = {k: summary(v) for k, v in sorted(by_label.items())}
    if errors:
        out_["errors"] = errors[:5]
    if keep_times:
        out_["times"] = times
    return out_


def get(path: str) -> Request:
    return ("GET", path, None, 200)


def post(path: str, body: Mapping[str, Any], expect: int = 201) -> Request:
    return ("POST", path, json.dumps(body).encode(), expect)
