"""How long does a Prometheus scrape of the API's `GET /metrics` take on a large history?

Every scrape reads the runs and task runs from the metadata database (shoal/services/metrics.py:
GROUP BY and SUM(CASE ...) per histogram bucket, no rows loaded into Python), so its cost grows
with the history. This builds one of --task-runs task runs (default 200,000: --runs-per-workflow
runs of 10 tasks over 50 workflows in 5 projects, mostly ended, some failed, skipped, queued and
running, with queue and start times spread over a year) in a fresh PostgreSQL schema
(SHOAL_TEST_PG_URL, as the tests use) and in a SQLite home, then times, after one untimed
scrape: --reps whole scrapes (GET /metrics with a token, through the ASGI app in process: the
HTTP server's own cost is left out), each family's query alone, and two anchors: one bare
`SELECT count(*)` over the task runs (the floor of any query reading them all) and the rows
fetched and counted in Python (what the scrape's SQL aggregation avoids).

Prints ONE JSON line on stdout and writes it to benchmarks/results/metrics_scrape.json; progress
goes to stderr. The box is shared and noisy: read the medians of one run.

Usage: python benchmarks/metrics_scrape.py [--task-runs 200000] [--reps 11] [--backends postgresql sqlite]
       [--no-write]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULT_FILE = BENCH / "results" / "metrics_scrape.json"
PG_URL = os.environ.get("SHOAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PROJECTS, WORKFLOWS_PER_PROJECT, TASKS_PER_RUN = 5, 10, 10
SEED = 20261207

sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))
from _machine import emit, machine_facts  # noqa: E402 - the benchmarks dir is not a package on sys.path


def log(msg: str) -> None:
    print(f"[metrics_scrape {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@contextmanager
def pg_schema() -> Iterator[str]:
    """A URL whose connections use a fresh schema of the test database, dropped afterwards."""
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def _task_row(rng: random.Random, run_id: int, n: int, created: datetime, active: bool) -> dict[str, Any]:
    """One task run: an ended run's are mostly success (some failed, skipped, upstream_failed);
    a running run's are queued, running or pending."""
    row: dict[str, Any] = {"run_id": run_id, "task_name": f"t{n}", "attempt": 1, "max_attempts": 1, "priority": 0,
                           "outputs": {}, "queued_at": None, "started_at": None, "ended_at": None, "duration": None}
    queued = created + timedelta(seconds=n * 30)
    started = queued + timedelta(seconds=rng.expovariate(1 / 0.2) if rng.random() < 0.9 else rng.uniform(1, 900))
    took = rng.lognormvariate(3, 1.5)
    if active:
        state = rng.choice(("queued", "running", "pending"))
    else:
        state = rng.choices(("success", "failed", "skipped", "upstream_failed"), (90, 4, 4, 2))[0]
    if state in ("queued", "running", "success", "failed"):
        row["queued_at"] = queued
    if state in ("running", "success", "failed"):
        row["started_at"] = started
    if state in ("success", "failed"):
        row["ended_at"], row["duration"] = started + timedelta(seconds=took), took
    if state in ("skipped", "upstream_failed"):
        row["ended_at"] = queued
    return {**row, "state": state}


def build_history(store: Any, task_runs_wanted: int) -> dict[str, int]:
    """Workflows through the service layer; runs and task runs inserted in bulk (what years of
    scheduling would leave behind)."""
    from sqlalchemy import insert, select

    from shoal.services import projects as project_service
    from shoal.services import workflows
    from shoal.store.models import runs, task_runs, workflow_versions

    rng = random.Random(SEED)
    tasks = "".join(f"  - {{name: t{i}, type: shell, command: 'true'}}\n" for i in range(TASKS_PER_RUN))
    for p in range(PROJECTS):
        project = f"p{p}"
        project_service.create_project(store, project)
        for w in range(WORKFLOWS_PER_PROJECT):
            workflows.apply_text(store, f"name: wf{w}\nproject: {project}\ntasks:\n{tasks}")
    with store.engine.connect() as conn:
        versions = [(r.workflow_id, r.id) for r in conn.execute(select(workflow_versions))]
    n_runs = task_runs_wanted // TASKS_PER_RUN
    start = datetime(2026, 1, 1)
    made = 0
    with store.engine.begin() as conn:
        for first in range(0, n_runs, 2000):
            batch = []
            for i in range(first, min(first + 2000, n_runs)):
                wid, vid = versions[i % len(versions)]
                created = start + timedelta(minutes=15 * i)
                active = i >= n_runs - 40  # the latest few are still going
                state = "running" if active else rng.choices(("success", "failed", "stopped"), (92, 6, 2))[0]
                batch.append({"workflow_id": wid, "version_id": vid, "logical_date": created, "timezone": "UTC",
                              "state": state, "trigger": "schedule", "params": {}, "disabled": [], "priority": 0,
                              "created_at": created, "started_at": created,
                              "ended_at": None if active else created + timedelta(hours=1)})
            ids = conn.execute(insert(runs).returning(runs.c.id, runs.c.created_at, runs.c.state), batch).all()
            rows = [_task_row(rng, r.id, n, r.created_at, r.state == "running")
                    for r in ids for n in range(TASKS_PER_RUN)]
            conn.execute(insert(task_runs), rows)
            made += len(rows)
    return {"workflows": len(versions), "runs": n_runs, "task_runs": made}


def count_task_runs(store: Any) -> int:
    from sqlalchemy import func, select

    from shoal.store.models import task_runs

    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(task_runs)).scalar_one())


def rows_into_python(store: Any) -> tuple[int, int]:
    """The task runs' states, times and durations fetched and counted in Python."""
    from sqlalchemy import select

    from shoal.store.models import runs, task_runs

    q = (select(runs.c.workflow_id, task_runs.c.state, task_runs.c.queued_at, task_runs.c.started_at,
                task_runs.c.duration).join(runs, runs.c.id == task_runs.c.run_id))
    states: dict[tuple[int, str], int] = {}
    lags = 0
    with store.engine.connect() as conn:
        for wid, state, queued, started, _duration in conn.execute(q):
            states[wid, state] = states.get((wid, state), 0) + 1
            if queued is not None and started is not None and started >= queued:
                lags += (started - queued).total_seconds() <= 1
    return len(states), lags


def timed(fn: Callable[[], Any], reps: int) -> dict[str, float]:
    fn()  # untimed: connections opened, statements compiled and cached
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return {"median_ms": round(statistics.median(times), 2), "min_ms": round(min(times), 2),
            "max_ms": round(max(times), 2)}


def measure(backend: str, url: str | None, home: Path, task_runs_wanted: int, reps: int) -> dict[str, Any]:
    from sqlalchemy import text
    from starlette.testclient import TestClient

    from shoal.api.app import create_app
    from shoal.api.metrics import DURATION_BUCKETS, LAG_BUCKETS
    from shoal.config import Settings
    from shoal.services import metrics, users
    from shoal.store import open_store

    store = open_store(Settings(home=home, db_url=url))
    try:
        log(f"{backend}: building a history of {task_runs_wanted:,} task runs")
        start = time.perf_counter()
        sizes = build_history(store, task_runs_wanted)
        if backend == "postgresql":
            with store.engine.begin() as conn:  # as autovacuum would have by then
                conn.execute(text("ANALYZE"))
        log(f"{backend}: built {sizes} in {time.perf_counter() - start:.1f}s; scraping")
        users.add_user(store, "prometheus")
        token = users.create_token(store, "prometheus").token
        client = TestClient(create_app(store))
        headers = {"Authorization": f"Bearer {token}"}
        body = client.get("/metrics", headers=headers)
        assert body.status_code == 200, body.text
        result: dict[str, Any] = {
            "history": sizes, "scrape_bytes": len(body.content),
            "scrape_series": sum(1 for line in body.text.splitlines() if line and not line.startswith("#")),
            "scrape": timed(lambda: client.get("/metrics", headers=headers), reps),
        }
        families = {
            "run_counts": lambda: metrics.run_counts(store),
            "task_run_stats": lambda: metrics.task_run_stats(store, DURATION_BUCKETS),
            "queue_depth": lambda: metrics.queue_depth(store),
            "scheduler_lag": lambda: metrics.scheduler_lag(store, LAG_BUCKETS),
        }
        result["families"] = {name: timed(fn, reps) for name, fn in families.items()}
        # Anchors, on the same box in the same run: one bare pass over task_runs (the floor of any
        # query that reads them all), and what the scrape avoids: the rows loaded into Python.
        result["anchors"] = {"count_task_runs": timed(lambda: count_task_runs(store), reps),
                             "rows_into_python": timed(lambda: rows_into_python(store), max(3, reps // 3))}
        log(f"{backend}: scrape median {result['scrape']['median_ms']} ms")
        return result
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task-runs", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=11)
    parser.add_argument("--backends", nargs="+", default=["postgresql", "sqlite"], choices=["postgresql", "sqlite"])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    out: dict[str, Any] = {"benchmark": "metrics_scrape", "machine": machine_facts(("shoal", "sqlalchemy")),
                           "config": {"task_runs": args.task_runs, "reps": args.reps, "seed": SEED}}
    status = 0
    for backend in args.backends:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                if backend == "postgresql":
                    with pg_schema() as url:
                        out[backend] = measure(backend, url, Path(tmp) / "home", args.task_runs, args.reps)
                else:
                    out[backend] = measure(backend, None, Path(tmp) / "home", args.task_runs, args.reps)
            except Exception as exc:  # one backend failing still reports the other
                log(f"{backend} failed: {exc!r}")
                out[backend] = {"error": repr(exc)}
                status = 2
    out["machine"]["loadavg_end"] = list(os.getloadavg())
    emit(out, RESULT_FILE, write=not args.no_write)
    return status


if __name__ == "__main__":
    sys.exit(main())
