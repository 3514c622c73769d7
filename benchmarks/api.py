"""The REST API on PostgreSQL: list runs, show a run, start a run, at 100 and at 10,000 runs of history.

One run, on this machine, loopback only (issue 15):
1. creates two throwaway PostgreSQL databases of its own (`shoal_bench_api_<pid>_<runs>`, dropped
   at the end, even on error) and in each applies four workflows of 20 shell tasks through the
   service layer (real versions), creates the instance admin with one API token per client, and
   bulk-inserts a history (benchmarks/_api_history.py): 100 runs in one, --runs (10,000) in the
   other, each with its 20 task runs (200,000 rows), in mixed states (80% success, 10% failed,
   4% running, 4% stopped, 2% queued); then ANALYZE, as autovacuum would have by then;
2. starts `shoal api --workers 2` on each (real processes: uvicorn, one worker per core) and
   checks the answers;
3. measures, with 8 concurrent client processes (each on its own keep-alive connection, its own
   token; a closed loop), --requests timed requests of each call per history, in --rounds
   rounds that alternate the two histories (and the anchor's), after a warm-up:
     - list:  GET /api/v1/runs?project=bench&workflow=W&state=S&limit=50 (W of 4, S of success,
              failed, running: a page of 50 of a fifth, a fortieth or a hundredth of the runs)
     - show:  GET /api/v1/projects/bench/runs/{id} (a random run of the history, with 20 task runs)
     - post:  POST /api/v1/runs {"workflow": W, "project": "bench"} (queues a run; no scheduler
              runs, so it stays queued); the runs it made are deleted after each round (VACUUM
              ANALYZE), so the history stays the same size;
   and reports p50/p90/p99/max/mean/count per call and history, requests/s, and the ratios of
   the large history over the small one;
4. explains where the time goes: the SQL statements each call sends (captured in process
   through the service layer), EXPLAIN (ANALYZE, BUFFERS) of the list and show queries on both
   histories, and the service-layer time of each call in process (no HTTP), sequentially;
5. the anchor, unless --no-anchor: Airflow 3 (its own venv, .bench/airflow-venv, SQLite, one
   `airflow api-server` worker, simple auth manager with a JWT) on the same two histories,
   measured in the same rounds with the same clients: GET /api/v2/dags/W/dagRuns?state=S&
   limit=50&order_by=-id; a dag run and its task instances (two requests, timed together); POST
   /api/v2/dags/W/dagRuns. If it cannot be stood up, `anchor` says why and shoal's figures stand.

Targets (issue 15): list and show p99 <= 20 ms; no growth from 100 to 10,000 runs (read here as
the p50 ratio large/small <= 1.2; the p99 ratio is reported too but moves with the box's noise).

Prints ONE JSON line and writes benchmarks/results/api.json; progress on stderr. The machine is a
shared, noisy 2-core box, and the server, PostgreSQL and the 8 clients share its two cores: read
the ratios of one run, never absolute figures across runs.

Usage: python benchmarks/api.py [--runs 10000] [--requests 1200] [--rounds 3] [--workers 2] [--no-anchor]
       [--no-write]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import traceback
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULT_FILE = BENCH / "results" / "api.json"
sys.path.insert(0, str(BENCH))
import _api_history as history  # noqa: E402 - the benchmarks dir is not a package on sys.path
import _api_load as load  # noqa: E402
import _machine  # noqa: E402
import _serving_load as servers  # noqa: E402

PROJECT = "bench"
SMALL = 100
CALLS = ("list", "list_page20", "show", "post")
TARGET_P99_MS = 20.0
GROWTH_MAX = 1.2
PG_ADMIN_URL = os.environ.get("SHOAL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SEED_BATCH = 500  # runs per INSERT batch (x20 task runs)


def log(msg: str) -> None:
    print(f"[api {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------- PostgreSQL


@contextlib.contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """A new, empty database `name` on the admin URL's server; its URL. Dropped on the way out
    (WITH (FORCE): only this database's own sessions, which are the benchmark's)."""
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    log(f"created database {name}")
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        log(f"dropped database {name}")


def pg_facts() -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    eng = create_engine(PG_ADMIN_URL)
    with eng.connect() as conn:
        facts = {"version": conn.execute(text("SHOW server_version")).scalar()}
        for setting in ("shared_buffers", "work_mem", "synchronous_commit", "max_connections", "random_page_cost"):
            facts[setting] = conn.execute(text(f"SHOW {setting}")).scalar()
    eng.dispose()
    return facts


# ------------------------------------------------------------------------------------- seeding


def seed_shoal(url: str, home: Path, n: int, clients: int) -> dict[str, Any]:
    """Workflows applied through the service layer, an admin with one token per client, then
    `n` runs of history inserted in bulk; returns the tokens and what was stored."""
    from _seed_db import current_versions
    from sqlalchemy import func, insert, select, text

    from shoal import services
    from shoal.config import Settings
    from shoal.store import open_store
    from shoal.store.models import runs, task_runs

    t0 = time.perf_counter()
    store = open_store(Settings(home=home, db_url=url))
    try:
        first = services.users.first_admin(store)
        assert first is not None, "a new database has no users"
        tokens = [first.token] + [services.users.create_token(store, first.info.user, name=f"bench client {i}").token
                                  for i in range(1, clients)]
        applied = services.workflows.apply_text(store, history.workflow_yaml(PROJECT), "yaml")
        ids = current_versions(store)
        planned = history.plan(n)
        t_rows = time.perf_counter()
        with store.engine.begin() as conn:
            for start in range(0, n, SEED_BATCH):
                batch = planned[start:start + SEED_BATCH]
                run_rows, task_rows = [], []
                for p in batch:
                    run_id = p.index + 1
                    wf_id, vid = ids[p.workflow]
                    run_rows.append({
                        "id": run_id, "workflow_id": wf_id, "version_id": vid, "logical_date": p.logical_date,
                        "timezone": "UTC", "state": p.state, "trigger": "schedule", "params": {}, "disabled": [],
                        "priority": 0, "dedup_key": f"schedule:{wf_id}:{p.logical_date.isoformat()}",
                        "error": "task failed" if p.state == "failed" else None,
                        "created_at": p.logical_date, "started_at": p.started_at, "ended_at": p.ended_at,
                    })
                    clock = p.started_at
                    for name, state, secs in zip(history.TASK_NAMES, p.task_states, p.task_seconds, strict=True):
                        ran = state in ("success", "failed", "running")
                        ended = state in ("success", "failed")
                        row = {"run_id": run_id, "task_name": name, "state": state, "attempt": 1 if ran else 0,
                               "max_attempts": 1, "priority": 0, "queued_at": clock if ran else None,
                               "started_at": clock if ran else None, "ended_at": None, "duration": None,
                               "host": "bench-host" if ran else None, "pid": 4242 if ran else None,
                               "outputs": {"rows": 1000} if state == "success" else {},
                               "error": "exit status 1" if state == "failed" else None,
                               "note": "upstream failed" if state == "upstream_failed" else None}
                        if ended and clock is not None:
                            row["ended_at"] = clock + _seconds(secs)
                            row["duration"] = secs
                            clock = row["ended_at"]
                        task_rows.append(row)
                conn.execute(insert(runs), run_rows)
                conn.execute(insert(task_runs), task_rows)
                if start // SEED_BATCH % 4 == 3:
                    log(f"  seeded {start + len(batch):,} of {n:,} runs")
            for table in ("runs", "task_runs"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
            counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (runs, task_runs)}
        rows_s = time.perf_counter() - t_rows
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
        sizes = _table_sizes(store.engine)
    finally:
        store.close()
    page_items = {st: statistics.fmean(min(50, sum(1 for p in planned if p.workflow == wf and p.state == st))
                                       for wf in history.WORKFLOWS) for st in history.LIST_STATES}
    return {"tokens": tokens, "runs": counts["runs"], "task_runs": counts["task_runs"], "max_run_id": n,
            "list_page_items_mean": page_items,
            "workflows": [r.name for r in applied], "insert_s": round(rows_s, 2),
            "seed_s": round(time.perf_counter() - t0, 2), "table_sizes": sizes,
            "states": {s: sum(1 for p in planned if p.state == s) for s, _ in history.STATE_MIX}}


def _seconds(s: float) -> Any:
    import datetime as dt

    return dt.timedelta(seconds=s)


def _table_sizes(engine: Any) -> dict[str, str]:
    from sqlalchemy import text

    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT pg_size_pretty(pg_total_relation_size('{t}'))")).scalar()
                for t in ("runs", "task_runs")}


def delete_posted(url: str, max_run_id: int) -> int:
    """Remove the runs the POST phase made (ids above the history's), then VACUUM ANALYZE, so
    the next round sees the same history."""
    from sqlalchemy import create_engine, text

    eng = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as conn:
            conn.execute(text("DELETE FROM task_runs WHERE run_id > :m"), {"m": max_run_id})
            gone = conn.execute(text("DELETE FROM runs WHERE id > :m"), {"m": max_run_id}).rowcount
            conn.execute(text("VACUUM ANALYZE runs"))
            conn.execute(text("VACUUM ANALYZE task_runs"))
    finally:
        eng.dispose()
    return int(gone)


# ------------------------------------------------------------------------------------- targets


class Target:
    """One server on one history: how to build each call's samples, and how to undo the posts."""

    def __init__(self, system: str, runs: int, base: str, headers: list[dict[str, str]],
                 make: dict[str, Callable[[random.Random, int], list[load.Sample]]],
                 after_post: Callable[[], int], proc: Any, health: str, concurrent_post: bool = True,
                 sessions: Callable[[], int] | None = None) -> None:
        self.system, self.runs, self.base, self.headers = system, runs, base, headers
        self.make, self.after_post, self.proc, self.health = make, after_post, proc, health
        self.concurrent_post = concurrent_post  # False: POST only with one client (see one_client)
        self.sessions = sessions  # database sessions opened so far (PostgreSQL's count), if known

    @property
    def key(self) -> str:
        return f"{self.system}@{self.runs}"


def shoal_samples(n_runs: int) -> dict[str, Callable[[random.Random, int], list[load.Sample]]]:
    wfs, states = history.WORKFLOWS, history.LIST_STATES

    def list_(rng: random.Random, k: int) -> list[load.Sample]:
        out = []
        for _ in range(k):
            wf, st = rng.choice(wfs), rng.choice(states)
            out.append((st, [load.get(f"/api/v1/runs?project={PROJECT}&workflow={wf}&state={st}&limit=50")]))
        return out

    def list_page20(rng: random.Random, k: int) -> list[load.Sample]:
        return [("page20", [load.get(f"/api/v1/runs?project={PROJECT}&workflow={rng.choice(wfs)}&limit=20")])
                for _ in range(k)]

    def show(rng: random.Random, k: int) -> list[load.Sample]:
        return [("show", [load.get(f"/api/v1/projects/{PROJECT}/runs/{rng.randint(1, n_runs)}")]) for _ in range(k)]

    def post(rng: random.Random, k: int) -> list[load.Sample]:
        return [("post", [load.post("/api/v1/runs", {"workflow": rng.choice(wfs), "project": PROJECT})])
                for _ in range(k)]

    return {"list": list_, "list_page20": list_page20, "show": show, "post": post}


def sessions_opened(database: str) -> int:
    """How many sessions PostgreSQL has opened on `database` (pg_stat_database.sessions, read
    from the admin database so that reading it opens none there). Its statistics reach the view
    within a second."""
    from sqlalchemy import NullPool, create_engine, text

    time.sleep(1.1)
    eng = create_engine(PG_ADMIN_URL, poolclass=NullPool)
    try:
        with eng.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            return int(conn.execute(text("SELECT sessions FROM pg_stat_database WHERE datname = :d"),
                                    {"d": database}).scalar_one())
    finally:
        eng.dispose()


def start_shoal(url: str, home: Path, runs: int, seeded: dict[str, Any], workers: int) -> Target:
    from sqlalchemy import make_url

    port = servers.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOAL_")}
    env.update(SHOAL_HOME=str(home), SHOAL_DB_URL=url)
    argv = [str(Path(sys.executable).parent / "shoal"), "api", "--port", str(port), "--workers", str(workers)]
    proc = servers.start_server(argv, env, port, name=f"shoal-api-{runs}")
    ready = servers.wait_ready(f"http://127.0.0.1:{port}/health", timeout=120, proc=proc)
    if workers > 1:
        wait_for_workers(proc.pid, workers, make_url(url).port or 5432)
    log(f"shoal api on {runs:,} runs ready in {ready:.1f}s (port {port}, {workers} workers)")
    headers = [{"Authorization": f"Bearer {t}"} for t in seeded["tokens"]]
    return Target("shoal", runs, f"http://127.0.0.1:{port}", headers, shoal_samples(runs),
                  lambda: delete_posted(url, seeded["max_run_id"]), proc, "/health",
                  sessions=lambda: sessions_opened(make_url(url).database))


def wait_for_workers(pid: int, workers: int, db_port: int, timeout: float = 120.0) -> None:
    """Until every API worker has opened the database: the first to answer /health may be alone
    yet, and the clients' keep-alive connections would all land on it for the whole run."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        up = 0
        for child in psutil.Process(pid).children():
            with contextlib.suppress(psutil.Error):
                up += any(c.raddr and c.raddr.port == db_port for c in child.net_connections(kind="tcp"))
        if up >= workers:
            time.sleep(1.0)  # from the open database to the app answering
            return
        time.sleep(0.2)
    raise TimeoutError(f"{workers} API workers did not all start within {timeout:.0f} s")


def check_shoal(t: Target) -> dict[str, Any]:
    """The answers are what the benchmark means to time: a full page, a run with 20 tasks."""
    def get(path: str) -> Any:
        req = urllib.request.Request(t.base + path, headers=t.headers[0])
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    page = get(f"/api/v1/runs?project={PROJECT}&workflow=ingest&state=success&limit=50")["items"]
    run = get(f"/api/v1/projects/{PROJECT}/runs/{t.runs}")
    assert all(r["workflow"] == "ingest" and r["state"] == "success" for r in page), page[:2]
    assert len(run["tasks"]) == history.TASKS, run
    return {"list_items": len(page), "list_bytes": len(json.dumps(page)), "show_tasks": len(run["tasks"]),
            "show_bytes": len(json.dumps(run))}


# ------------------------------------------------------------------------------- where it goes


def explain_shoal(url: str, home: Path, token: str, n_runs: int) -> dict[str, Any]:
    """The statements each call sends through the service layer (in process), EXPLAIN ANALYZE
    of the list and show queries, and each call's service-layer time (sequential, no HTTP)."""
    from sqlalchemy import event

    from shoal import services
    from shoal.config import Settings
    from shoal.store import open_store

    store = open_store(Settings(home=home, db_url=url))
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    out: dict[str, Any] = {"statements": {}, "explain": {}, "in_process_ms": {}}
    rng = random.Random(7)
    def select_1() -> Any:
        with store.engine.connect() as conn:
            return conn.exec_driver_sql("SELECT 1").all()

    calls: dict[str, Callable[[], Any]] = {
        "select_1": select_1,
        "auth": lambda: services.users.authenticate(store, token),
        **{f"list_{st}": (lambda st=st: services.runs.list_runs(store, project=PROJECT, workflow="ingest", state=st,
                                                                 limit=50)) for st in history.LIST_STATES},
        "list_page20": lambda: services.runs.list_runs(store, project=PROJECT, workflow="ingest", limit=20),
        "show": lambda: services.runs.show(store, rng.randint(1, n_runs), project=PROJECT),
        "post": lambda: services.runs.trigger(store, "ingest", project=PROJECT),
    }
    try:
        for name, call in calls.items():
            call()  # warm: imports, the pool's connection, the plan cache
            event.listen(store.engine, "before_cursor_execute", capture)
            seen.clear()
            call()
            event.remove(store.engine, "before_cursor_execute", capture)
            out["statements"][name] = [" ".join(s.split())[:400] for s, _ in seen]
            if name.startswith("list") or name == "show":
                plans = {}
                for i, (s, p) in enumerate(seen):
                    with store.engine.connect() as conn:
                        plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + s, p).scalars().all()
                    plans[f"statement_{i + 1}"] = plan
                out["explain"][name] = plans
        reps = 100
        for name, call in calls.items():
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                call()
                times.append((time.perf_counter() - t0) * 1000)
            out["in_process_ms"][name] = {"p50": round(statistics.median(times), 3),
                                          "p90": round(sorted(times)[int(reps * 0.9)], 3), "reps": reps}
    finally:
        store.close()
    return out


# -------------------------------------------------------------------------------------- rounds


def measure(targets: list[Target], requests: int, rounds: int, clients: int, warmup: int) -> dict[str, Any]:
    """Every call on every target, in `rounds` rounds; within a round, call by call, the targets
    in an order that rotates each round. Returns per target and call: pooled summary and rounds."""
    per_round = max(clients, requests // rounds)
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {t.key: {c: [] for c in CALLS} for t in targets}
    times: dict[str, dict[str, list[float]]] = {t.key: {c: [] for c in CALLS} for t in targets}
    for r in range(rounds):
        order = targets[r % len(targets):] + targets[:r % len(targets)]
        for call in CALLS:
            for t in order:
                if (call == "post" and not t.concurrent_post) or (call == "list_page20" and t.system != "shoal"):
                    continue
                rng = random.Random(f"{r}/{call}/{t.key}")
                samples = t.make[call](rng, per_round)
                before = t.sessions() if t.sessions else None
                res = load.run_phase(t.base, t.headers, samples, clients=clients, warmup_per_client=warmup,
                                     keep_times=True)
                times[t.key][call].extend(res.pop("times"))
                res["round"] = r
                if before is not None and t.sessions is not None:
                    # Requests timed plus the warm-up's: a session per request means no pooling.
                    res["db_sessions_opened"] = t.sessions() - before
                res["loadavg_1m"] = round(os.getloadavg()[0], 2)
                raw[t.key][call].append(res)
                log(f"round {r + 1}/{rounds} {t.key:>15} {call:>4}: p50 {res.get('p50_ms')} p99 {res.get('p99_ms')} "
                    f"ms, {res.get('requests_per_s')} req/s, failed {res['failed']}, "
                    f"db sessions opened {res.get('db_sessions_opened', '-')}")
                if call == "post":
                    removed = t.after_post()
                    raw[t.key][call][-1]["runs_removed_after"] = removed
    out: dict[str, Any] = {}
    for t in targets:
        out[t.key] = {}
        for call in CALLS:
            rs = raw[t.key][call]
            if not rs:
                out[t.key][call] = {"skipped": "not with concurrent clients: see one_client"
                                    + (" and post_probe" if call == "post" else "")}
                continue
            pooled = load.summary(times[t.key][call])
            pooled["failed"] = sum(x["failed"] for x in rs)
            pooled["requests_per_s_median"] = statistics.median(x["requests_per_s"] or 0 for x in rs)
            by_label: dict[str, list[float]] = {}
            for x in rs:
                for label, s in (x.get("by_label") or {}).items():
                    by_label.setdefault(label, []).append(s["p50_ms"])
            if by_label:
                pooled["p50_ms_by_label_median_of_rounds"] = {k: statistics.median(v) for k, v in by_label.items()}
            pooled["rounds"] = [{k: x.get(k) for k in ("p50_ms", "p99_ms", "mean_ms", "count", "requests_per_s",
                                                       "failed", "loadavg_1m", "db_sessions_opened", "failures",
                                                       "errors") if k in x}
                                for x in rs]
            if any("db_sessions_opened" in x for x in rs):
                sent = sum(x["count"] + x["failed"] + clients * warmup for x in rs)
                pooled["db_sessions_opened_per_request"] = round(sum(x["db_sessions_opened"] for x in rs) / sent, 3)
            out[t.key][call] = pooled
    return out


def one_client(targets: list[Target], n: int) -> dict[str, Any]:
    """Each target alone with ONE client, sequentially: the latency without queueing behind the
    other clients, of list, show, post and the server's health check (no token, no database for
    shoal: the floor of its HTTP stack). `list_page20`: runs of one workflow, any state, 20 a
    page: a full page in both histories (the list call's page holds fewer runs at 100 runs, as
    few runs of 100 match a workflow and a state)."""
    out: dict[str, Any] = {}
    for t in targets:
        rng = random.Random(f"one/{t.key}")
        calls = {"health": [("health", [load.get(t.health)])] * n, "list": t.make["list"](rng, n),
                 "list_page20": t.make["list_page20"](rng, n), "show": t.make["show"](rng, n),
                 "post": t.make["post"](rng, n)}
        out[t.key] = {}
        for call, samples in calls.items():
            res = load.run_phase(t.base, t.headers, samples, clients=1, warmup_per_client=20)
            out[t.key][call] = {k: res.get(k) for k in ("p50_ms", "p99_ms", "mean_ms", "count", "failed",
                                                      "requests_per_s")}
            if res.get("failures"):
                out[t.key][call]["failures"] = res["failures"][:2]
            log(f"one client {t.key:>15} {call:>6}: p50 {res.get('p50_ms')} p99 {res.get('p99_ms')} ms")
            if call == "post":
                out[t.key][call]["runs_removed_after"] = t.after_post()
    return out


def post_probe(t: Target, clients: int, per_client: int = 2) -> dict[str, Any]:
    """A few POSTs from `clients` concurrent clients, no warm-up: what happens to a target whose
    writes do not take concurrent clients (Airflow on SQLite)."""
    res = load.run_phase(t.base, t.headers, t.make["post"](random.Random("probe"), clients * per_client),
                         clients=clients, warmup_per_client=0, timeout=120)
    out = {k: res.get(k) for k in ("count", "failed", "p50_ms", "max_ms", "wall_s", "failures")}
    out["failures"] = [f[:300] for f in out["failures"] or []][:2]
    out["runs_removed_after"] = t.after_post()
    log(f"post probe {t.key}: {out['count']} ok, {out['failed']} failed, p50 {out['p50_ms']} ms")
    return out


def ratios(results: dict[str, Any], a: str, b: str) -> dict[str, Any]:
    """results[a] / results[b] for p50, p99 and mean of each call."""
    out = {}
    for call in CALLS:
        x, y = results.get(a, {}).get(call, {}), results.get(b, {}).get(call, {})
        out[call] = _ratio(x, y)
    return out


# ---------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10_000, help="runs in the large history (the small one has 100)")
    ap.add_argument("--requests", type=int, default=1200, help="timed requests of each call per history, all rounds")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2, help="`shoal api --workers`: API processes (one per core)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed requests per client before each phase")
    ap.add_argument("--one-client", type=int, default=300, help="sequential requests of each call, one client")
    ap.add_argument("--no-anchor", action="store_true", help="shoal only: no Airflow")
    ap.add_argument("--no-write", action="store_true", help="print the JSON line only")
    args = ap.parse_args(argv)

    result: dict[str, Any] = {
        "benchmark": "api",
        "machine": _machine.machine_facts(("shoal", "fastapi", "uvicorn", "sqlalchemy", "psycopg")),
        "config": {"runs_small": SMALL, "runs_large": args.runs, "tasks_per_run": history.TASKS,
                   "workflows": list(history.WORKFLOWS), "state_mix_percent": dict(history.STATE_MIX),
                   "list_states": list(history.LIST_STATES), "clients": args.clients, "api_workers": args.workers,
                   "requests_per_call_and_history": args.requests, "rounds": args.rounds,
                   "warmup_per_client": args.warmup, "page": 50,
                   "targets": {"list_show_p99_ms_max": TARGET_P99_MS, "growth_p50_ratio_max": GROWTH_MAX}},
    }
    status = 0
    sizes = (SMALL, args.runs)
    with contextlib.ExitStack() as stack:
        try:
            result["postgresql"] = pg_facts()
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="shoal-bench-api-")))
            targets: list[Target] = []
            seeds: dict[int, dict[str, Any]] = {}
            urls: dict[int, str] = {}
            for n in sizes:
                urls[n] = stack.enter_context(scratch_database(f"shoal_bench_api_{os.getpid()}_{n}"))
                log(f"seeding shoal: {n:,} runs x {history.TASKS} task runs")
                seeds[n] = seed_shoal(urls[n], tmp / f"home{n}", n, args.clients)
                log(f"  {seeds[n]['runs']:,} runs, {seeds[n]['task_runs']:,} task runs in {seeds[n]['seed_s']} s "
                    f"({seeds[n]['table_sizes']})")
            for n in sizes:
                t = start_shoal(urls[n], tmp / f"home{n}", n, seeds[n], args.workers)
                stack.callback(servers.stop_server, t.proc)
                targets.append(t)
            result["shoal"] = {"history": {str(n): {k: v for k, v in seeds[n].items() if k != "tokens"} for n in sizes},
                               "answers": {str(t.runs): check_shoal(t) for t in targets}}
            anchor_targets: list[Target] = []
            if args.no_anchor:
                result["anchor"] = {"airflow": None, "why": "--no-anchor"}
            else:
                anchor_targets = start_airflow(stack, tmp, sizes, args.clients, result)
            log("measuring")
            measured = measure(targets + anchor_targets, args.requests, args.rounds, args.clients, args.warmup)
            small, large = f"shoal@{SMALL}", f"shoal@{args.runs}"
            result["shoal"]["results"] = {str(n): measured[f"shoal@{n}"] for n in sizes}
            result["shoal"]["ratio_large_over_small"] = ratios(measured, large, small)
            result["shoal"]["targets"] = targets_met(measured[large], measured[small])
            log("one client at a time")
            single = one_client(targets + anchor_targets, args.one_client)
            result["shoal"]["one_client"] = {k: v for k, v in single.items() if k.startswith("shoal@")}
            if anchor_targets:
                a_small, a_large = f"airflow@{SMALL}", f"airflow@{args.runs}"
                result["anchor"]["results"] = {str(n): measured[f"airflow@{n}"] for n in sizes}
                result["anchor"]["ratio_large_over_small"] = ratios(measured, a_large, a_small)
                result["anchor"]["one_client"] = {k: v for k, v in single.items() if k.startswith("airflow@")}
                result["airflow_over_shoal_one_client"] = {
                    str(n): {c: _ratio(single[f"airflow@{n}"][c], single[f"shoal@{n}"][c])
                             for c in ("list", "show", "post")}
                    for n in sizes}
                log("airflow: a few POSTs from concurrent clients")
                result["anchor"]["post_probe_concurrent"] = post_probe(anchor_targets[0], args.clients)
                result["airflow_over_shoal"] = {str(SMALL): ratios(measured, a_small, small),
                                                str(args.runs): ratios(measured, a_large, large)}
            log("explaining the queries (in process)")
            result["shoal"]["where_time_goes"] = {
                str(n): explain_shoal(urls[n], tmp / f"home{n}", seeds[n]["tokens"][0], n) for n in sizes}
        except Exception as exc:  # noqa: BLE001 - the JSON says what failed
            traceback.print_exc()
            result["error"] = repr(exc)
            status = 2
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    # A run that failed prints what it got but keeps the last good result on disk.
    _machine.emit(result, RESULT_FILE, write=not args.no_write and status == 0)
    return status


def _ratio(x: dict[str, Any], y: dict[str, Any]) -> dict[str, Any]:
    return {m: (round(x[m] / y[m], 3) if x.get(m) and y.get(m) else None) for m in ("p50_ms", "p99_ms", "mean_ms")}


def targets_met(large: dict[str, Any], small: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for call in ("list", "show"):
        out[f"{call}_p99_ms_large"] = large[call]["p99_ms"]
        out[f"{call}_p99_met"] = large[call]["p99_ms"] <= TARGET_P99_MS and small[call]["p99_ms"] <= TARGET_P99_MS
        growth = large[call]["p50_ms"] / small[call]["p50_ms"]
        out[f"{call}_growth_p50"] = round(growth, 3)
        out[f"{call}_no_growth_met"] = growth <= GROWTH_MAX
    # A page filtered by workflow and state holds 50 runs of 10,000 but a handful of 100 (see
    # history.list_page_items_mean): the same question on equal answers is a page of 20 of one
    # workflow, full on both histories.
    growth = large["list_page20"]["p50_ms"] / small["list_page20"]["p50_ms"]
    out["list_equal_pages_growth_p50"] = round(growth, 3)
    out["list_equal_pages_no_growth_met"] = growth <= GROWTH_MAX
    return out


def start_airflow(stack: contextlib.ExitStack, tmp: Path, sizes: tuple[int, ...], clients: int,
                  result: dict[str, Any]) -> list[Target]:
    """The Airflow anchor on the same histories; [] (and `anchor` says why) if it cannot be stood up."""
    import _api_airflow as af

    t0 = time.perf_counter()
    try:
        venv = af.ensure_venv()
        result["anchor"] = {"airflow": af.versions(venv)}
        out = []
        for n in sizes:
            site = af.Site(venv, tmp / f"airflow{n}", n)
            stack.callback(site.stop)
            log(f"airflow: preparing {n:,} runs")
            info = site.prepare()
            out.append(Target("airflow", n, site.base, [site.headers], site.samples(), site.delete_posted, site.proc,
                              "/api/v2/monitor/health", concurrent_post=False))
            result["anchor"].setdefault("history", {})[str(n)] = info
        result["anchor"]["setup_s"] = round(time.perf_counter() - t0, 1)
        return out
    except Exception as exc:  # noqa: BLE001 - the anchor is optional: say why, measure shoal
        traceback.print_exc()
        result["anchor"] = {"airflow": None, "why": f"could not stand up Airflow: {exc!r}"[:2000]}
        return []


if __name__ == "__main__":
    sys.exit(main())
