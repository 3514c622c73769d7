"""Load generation for the serving benchmark: sequential latency, wrk throughput, server processes.

- `latency()`: N sequential POSTs on ONE keep-alive `http.client.HTTPConnection` (stdlib: small,
  constant client overhead), each timed with `perf_counter` from send to the last body byte, after
  an untimed warm-up; non-200 answers and connection errors are counted (and not timed).
- `throughput()`: `wrk` with a generated Lua script (POST, the body read from a file, Content-Type
  application/json) whose `done()` prints one JSON line: requests, requests/s, latency mean and
  percentiles (ms), socket errors and non-2xx/3xx answers (`errors.status`).
- `start_server()` / `stop_server()`: the server in its own session (process group), stdout and
  stderr to a log file whose tail is shown when it fails; SIGTERM to the group, SIGKILL after a
  grace period.
- `pin()`: `os.sched_setaffinity` on every thread of a process and its descendants, so the server
  and wrk can run on different cores (on 2 cores: server on cpu 1, wrk + the client on cpu 0).

Stdlib only.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import _machine  # the benchmarks directory is on sys.path wherever this module is imported

REPO = Path(__file__).resolve().parent.parent
TMP = REPO / ".bench" / "tmp"
JSON_HEADERS = {"Content-Type": "application/json"}


def _log(msg: str) -> None:
    print(f"[serving-load {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------ wrk


def ensure_wrk() -> str:
    """Path of `wrk`; installs the Debian package `wrk` (apt-get, sudo when not root) if missing."""
    path = shutil.which("wrk")
    if path:
        return path
    if not shutil.which("apt-get"):
        raise RuntimeError("wrk is not installed and there is no apt-get to install it: install wrk "
                           "(https://github.com/wg/wrk) and put it on PATH")
    prefix: list[str] = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            raise RuntimeError("wrk is not installed; installing it needs root (no sudo found): "
                               "run `apt-get install -y wrk` as root")
        prefix = ["sudo", "-n"]
    _log(f"wrk not found: installing it with `{' '.join([*prefix, 'apt-get', 'install', '-y', 'wrk'])}`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = [*prefix, "apt-get", "install", "-y", "--no-install-recommends", "wrk"]
    proc = subprocess.run(cmd, check=False, stdout=sys.stderr, stderr=sys.stderr, env=env)
    if proc.returncode != 0:  # stale package lists: update once and retry
        _log("apt-get install failed: running apt-get update and retrying")
        subprocess.run([*prefix, "apt-get", "update"], check=False, stdout=sys.stderr, stderr=sys.stderr, env=env)
        proc = subprocess.run(cmd, check=False, stdout=sys.stderr, stderr=sys.stderr, env=env)
    path = shutil.which("wrk")
    if proc.returncode != 0 or not path:
        raise RuntimeError(f"could not install wrk (`{' '.join(cmd)}` exited {proc.returncode}); "
                           "install it by hand: apt-get install -y wrk")
    _log(f"installed {path}")
    return path


def wrk_version(wrk: str | None = None) -> str | None:
    proc = subprocess.run([wrk or ensure_wrk(), "-v"], check=False, capture_output=True, text=True)
    text = (proc.stdout + proc.stderr).strip().splitlines()
    return text[0] if text else None


_WRK_LUA = r"""
local f = assert(io.open(%(body_path)s, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
%(headers)s

function done(summary, latency, requests)
  local e = summary.errors
  local function p(q) return latency:percentile(q) / 1000.0 end
  io.write(string.format(
    '\nWRK_JSON {"requests":%%d,"duration_s":%%.6f,"bytes":%%d,' ..
    '"latency_ms":{"mean":%%.4f,"stdev":%%.4f,"max":%%.4f,"p50":%%.4f,"p90":%%.4f,"p99":%%.4f,"p999":%%.4f},' ..
    '"errors":{"connect":%%d,"read":%%d,"write":%%d,"timeout":%%d,"status":%%d}}\n',
    summary.requests, summary.duration / 1e6, summary.bytes,
    latency.mean / 1000.0, latency.stdev / 1000.0, latency.max / 1000.0,
    p(50), p(90), p(99), p(99.9),
    e.connect, e.read, e.write, e.timeout, e.status))
end
"""


def _lua_str(s: str) -> str:
    return json.dumps(s)  # a JSON string literal is a valid Lua string literal for printable ASCII/escapes


def throughput(url: str, body: bytes, connections: int = 8, seconds: int = 10, threads: int = 1,
               headers: Mapping[str, str] | None = None, cpus: Iterable[int] | None = None,
               timeout_s: int = 5, wrk: str | None = None) -> dict[str, Any]:
    """Run wrk POSTing `body` to `url`; requests/s, latency (ms) and errors from its Lua `done()`.

    `cpus`: pin wrk to these cores (sched_setaffinity before exec). `threads` is wrk's -t (one
    thread = one core of load generation); `connections` must be >= `threads`.
    """
    wrk = wrk or ensure_wrk()
    seconds = max(1, int(seconds))  # wrk takes whole seconds ("5.0s" is a usage error)
    timeout_s = max(1, int(timeout_s))
    TMP.mkdir(parents=True, exist_ok=True)
    hdrs = {**JSON_HEADERS, **(headers or {})}
    with tempfile.TemporaryDirectory(dir=TMP, prefix="wrk-") as tmp:
        body_path = Path(tmp) / "body.json"
        body_path.write_bytes(body)
        script = Path(tmp) / "post.lua"
        script.write_text(_WRK_LUA % {
            "body_path": _lua_str(str(body_path)),
            "headers": "\n".join(f"wrk.headers[{_lua_str(k)}] = {_lua_str(v)}" for k, v in hdrs.items()),
        })
        argv = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
                "--timeout", f"{timeout_s}s", "--latency", "-s", str(script), url]
        affinity = set(cpus) if cpus is not None else None
        preexec = (lambda: os.sched_setaffinity(0, affinity)) if affinity else None
        proc = subprocess.run(argv, check=False, capture_output=True, text=True,
                              timeout=seconds + 60, preexec_fn=preexec)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {proc.returncode}): {proc.stderr.strip()}\n{proc.stdout[-2000:]}")
    res = json.loads(line[len("WRK_JSON "):])
    errs = res["errors"]
    out: dict[str, Any] = {
        "requests": res["requests"],
        "duration_s": round(res["duration_s"], 3),
        "requests_per_s": round(res["requests"] / res["duration_s"], 1) if res["duration_s"] else None,
        "latency_ms": {k: round(v, 3) for k, v in res["latency_ms"].items()},
        "non_2xx_3xx": errs["status"],
        "socket_errors": {k: errs[k] for k in ("connect", "read", "write", "timeout")},
        "errors_total": sum(errs.values()),
        "transfer_bytes": res["bytes"],
        "connections": connections,
        "threads": threads,
        "seconds": seconds,
        "wrk_pinned_cpus": sorted(affinity) if affinity else None,
    }
    # Successful requests per second: wrk's own Requests/sec counts error answers too.
    ok = res["requests"] - errs["status"]
    out["ok_requests_per_s"] = round(ok / res["duration_s"], 1) if res["duration_s"] else None
    return out


# -------------------------------------------------------------------------------------- latency


def _connect(host: str, port: int, timeout: float) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def latency(url: str, body: bytes, n: int = 2000, warmup: int = 200,
            headers: Mapping[str, str] | None = None, timeout: float = 10,
            check: Any = None) -> dict[str, Any]:
    """p50/p90/p99/max/mean (ms) of `n` sequential POSTs of `body` on ONE keep-alive connection.

    Each request is timed from sending it to reading the whole response. Non-200 answers and
    connection errors count as failures (not timed; the connection is reopened after an error).
    `check(status, response_bytes)`, if given, is called on the first answer (e.g. to validate it).
    """
    u = urlsplit(url)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    hdrs = {**JSON_HEADERS, "Connection": "keep-alive", **(headers or {}),
            "Content-Length": str(len(body))}
    conn = _connect(host, port, timeout)
    times: list[float] = []
    failures = 0
    statuses: dict[int, int] = {}
    first: bytes | None = None
    reconnects = 0
    perf = time.perf_counter
    for i in range(warmup + n):
        try:
            t0 = perf()
            conn.request("POST", path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            dt = perf() - t0
            status = resp.status
        except (OSError, http.client.HTTPException) as exc:
            failures += 1
            statuses[-1] = statuses.get(-1, 0) + 1
            if failures > max(50, n // 10):
                conn.close()
                raise RuntimeError(f"too many failures talking to {url}: last {exc!r}") from exc
            conn.close()
            conn = _connect(host, port, timeout)
            reconnects += 1
            continue
        if first is None:
            first = data
            if check is not None:
                check(status, data)
        if status != 200:
            statuses[status] = statuses.get(status, 0) + 1
            failures += 1
            continue
        if i >= warmup:
            times.append(dt * 1000.0)
    conn.close()
    s = sorted(times)
    return {
        "n": len(s),
        "warmup": warmup,
        "failures": failures,
        "failed_statuses": {str(k): v for k, v in statuses.items()},
        "reconnects": reconnects,
        "p50_ms": round(_machine.percentile(s, 50), 4),
        "p90_ms": round(_machine.percentile(s, 90), 4),
        "p99_ms": round(_machine.percentile(s, 99), 4),
        "max_ms": round(s[-1], 4) if s else None,
        "mean_ms": round(statistics.fmean(s), 4) if s else None,
        "body_bytes": len(body),
        "response_sample": (first or b"")[:300].decode("utf-8", "replace"),
    }


# -------------------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def start_server(argv: Sequence[str], env: Mapping[str, str] | None = None, port: int | None = None,
                 cwd: str | Path | None = None, name: str = "server",
                 cpus: Iterable[int] | None = None) -> subprocess.Popen:
    """Start `argv` in a new session (its own process group), output to a log file.

    `cpus`: pin the server (and everything it starts) to these cores from exec on, so that
    OpenMP runtimes (xgboost) size their thread pools to them. The Popen gets `.log_path` (the
    log file), `.bench_name` and `.pinned_cpus`. Raises if `port` is already taken.
    """
    if port is not None and _port_open(port):
        raise RuntimeError(f"port {port} is already in use: cannot start {name}")
    TMP.mkdir(parents=True, exist_ok=True)
    fd, log_path = tempfile.mkstemp(dir=TMP, prefix=f"{name}-", suffix=".log")
    affinity = set(cpus) if cpus is not None else None
    preexec = (lambda: os.sched_setaffinity(0, affinity)) if affinity else None
    with os.fdopen(fd, "wb") as logf:
        proc = subprocess.Popen(list(argv), env=dict(env) if env is not None else None, cwd=cwd,
                                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=preexec)  # noqa: PLW1509 (no threads here)
    proc.log_path = log_path  # type: ignore[attr-defined]
    proc.bench_name = name  # type: ignore[attr-defined]
    proc.pinned_cpus = sorted(affinity) if affinity else None  # type: ignore[attr-defined]
    _log(f"started {name} (pid {proc.pid}): {' '.join(argv)}; log {log_path}")
    return proc


def server_log(proc: subprocess.Popen, tail: int = 4000) -> str:
    path = getattr(proc, "log_path", None)
    if not path:
        return ""
    try:
        return Path(path).read_text(errors="replace")[-tail:]
    except OSError:
        return ""


def stop_server(proc: subprocess.Popen, grace: float = 10) -> int | None:
    """SIGTERM the server's process group, SIGKILL it after `grace` seconds; returns the exit code."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            _log(f"{getattr(proc, 'bench_name', 'server')} (pid {proc.pid}) ignored SIGTERM: SIGKILL")
    # Whatever is left in the group (uvicorn workers, ...) gets SIGKILL.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        return proc.wait(5)
    except subprocess.TimeoutExpired:
        return None


def wait_ready(url: str, timeout: float = 60, proc: subprocess.Popen | None = None,
               interval: float = 0.1) -> float:
    """Poll GET `url` until it answers 200; returns seconds waited.

    Raises (with the server's log tail when `proc` is given) on timeout or when `proc` exits.
    """
    t0 = time.monotonic()
    last: str = ""
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{getattr(proc, 'bench_name', 'server')} exited with {proc.returncode} "
                               f"before {url} answered; log tail:\n{server_log(proc)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return time.monotonic() - t0
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (OSError, http.client.HTTPException) as exc:
            last = repr(exc)
        if time.monotonic() - t0 > timeout:
            tail = f"; log tail:\n{server_log(proc)}" if proc is not None else ""
            raise TimeoutError(f"{url} not ready after {timeout:.0f} s (last: {last}){tail}")
        time.sleep(interval)


# -------------------------------------------------------------------------------------- pinning


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def pin(pid: int, cpus: Iterable[int]) -> dict[str, Any]:
    """Pin every thread of `pid` and of its descendants to `cpus`; reports what was pinned.

    Threads and processes created later inherit the affinity. Never raises: returns
    {"pinned": False, "reason": ...} when the machine has too few cores or the call is refused.
    """
    want = set(cpus)
    if not hasattr(os, "sched_setaffinity"):
        return {"pinned": False, "reason": "no sched_setaffinity on this platform"}
    online = set(range(os.cpu_count() or 1))
    if not want or not want <= online:
        return {"pinned": False, "reason": f"cpus {sorted(want)} not all online (online: {sorted(online)})"}
    pids, tids = [], 0
    try:
        for p in _descendants(pid):
            try:
                for tid in os.listdir(f"/proc/{p}/task"):
                    os.sched_setaffinity(int(tid), want)
                    tids += 1
                pids.append(p)
            except (FileNotFoundError, ProcessLookupError):
                continue
    except PermissionError as exc:
        return {"pinned": False, "reason": repr(exc)}
    return {"pinned": bool(pids), "cpus": sorted(want), "pids": pids, "threads": tids}


def split_cpus() -> tuple[set[int] | None, set[int] | None]:
    """(server cpus, load-generator cpus) on a machine with >= 2 usable cores, else (None, None).

    The server gets the last core, the load generator (wrk / the latency client) the others.
    """
    usable = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(usable) < 2:
        return None, None
    return {usable[-1]}, set(usable[:-1])


def _log_line(msg: str) -> None:
    print(f"[serving {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def measure_server(name: str, argv: list[str], env: Mapping[str, str] | None, port: int, health: str,
                   predict: str, body: bytes, *, n: int = 2000, connections: int = 8, seconds: int = 10,
                   pin_cpus: bool = True, check: Any = None) -> dict[str, Any]:
    """Start a server, time `n` sequential requests, then `seconds` of wrk load; stop it.

    With `pin_cpus` (2+ cores) the server runs on one core from exec on and wrk plus the
    sequential client on the other, so the load generator does not steal the server's core.
    """
    server_cpus, client_cpus = split_cpus() if pin_cpus else (None, None)
    proc = start_server(argv, env, port, name=name, cpus=server_cpus)
    out: dict[str, Any] = {"argv": argv, "omp_num_threads": (env or {}).get("OMP_NUM_THREADS"),
                           "loadavg_1m_start": os.getloadavg()[0]}
    own = set(os.sched_getaffinity(0))
    try:
        out["ready_s"] = round(wait_ready(f"http://127.0.0.1:{port}{health}", timeout=180, proc=proc), 2)
        out["pin"] = pin(proc.pid, server_cpus) if server_cpus else {"pinned": False, "reason": "disabled"}
        if client_cpus:
            os.sched_setaffinity(0, client_cpus)
        url = f"http://127.0.0.1:{port}{predict}"
        _log_line(f"{name}: latency, {n} sequential requests")
        out["latency"] = latency(url, body, n=n, warmup=200, check=check)
        _log_line(f"{name}: p50 {out['latency']['p50_ms']} ms p99 {out['latency']['p99_ms']} ms; "
                  f"wrk {connections} connections {seconds} s")
        out["throughput"] = throughput(url, body, connections=connections, seconds=seconds, threads=1,
                                       cpus=client_cpus)
        _log_line(f"{name}: {out['throughput']['requests_per_s']} req/s, errors {out['throughput']['errors_total']}")
    except Exception as exc:  # noqa: BLE001 - record the failure and go on with the other servers
        out["error"] = repr(exc)
        out["log_tail"] = server_log(proc)
        _log_line(f"{name} FAILED: {exc!r}\n{out['log_tail']}")
    finally:
        out["loadavg_1m_end"] = os.getloadavg()[0]
        out["exit"] = stop_server(proc)
        os.sched_setaffinity(0, own)
    return out
