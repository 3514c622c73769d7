"""Prefect 3 anchor of engine_overhead.py: per-task wall time of trivial in-process tasks.

Runs in benchmarks/.venvs/anchors (never in the project's venv) and prints one JSON line.
Prefect talks to its default ephemeral local API server (started by Prefect itself on loopback,
with PREFECT_HOME pointing at a fresh temporary directory set by the caller): nothing leaves the
machine. Tasks run in the flow's process; no process isolation.

Shapes, in Prefect's own idiom:
- chain: each task is called with the previous task's result (`r = t(r)`), so it depends on it
  by data and runs after it;
- fanout: one root task, then N-1 tasks submitted to the flow's default ThreadPoolTaskRunner,
  each taking the root's result as input; the flow waits for all of them.
Kinds: `python` = the task body does nothing; `shell` = the task body is subprocess.run(["true"]).

Two end points per run, both from the flow call:
- wall: the flow call returns (the headline figure; the flow's tasks are done by then);
- recorded: the API server has recorded every task run of that flow run as COMPLETED. Prefect's
  server records task-run states from events, after the flow has returned; without this wait the
  backlog of one run slows the next one down. It also drains that backlog between timed runs.
The flow-run heartbeat thread is turned off (PREFECT_FLOWS_HEARTBEAT_FREQUENCY=None): on exit the
flow joins it, which adds a random 0-1 s (its sleep tick) to every run and is not per-task cost.
With `--logging quiet`, Prefect's loggers are at WARNING (no per-task log lines, so none shipped
to the API server either); `--logging default` keeps Prefect's default (INFO: each task run logs
its creation and its final state to the console and to the API), as a user gets it. Turning
heartbeats off and quiet logging only make Prefect faster.

Usage: python prefect_bench.py [--tasks 100] [--reps 3] [--logging quiet|default]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import per_task
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.sorting import TaskRunSort
from prefect.futures import wait
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

RECORD_TIMEOUT_S = 300.0


@task
def py_noop(x: object = None) -> int:
    return 1


@task
def sh_true(x: object = None) -> int:
    subprocess.run(["true"], check=True)
    return 1


TASKS = {"python": py_noop, "shell": sh_true}


@flow
def chain(n: int, kind: str) -> None:
    t = TASKS[kind]
    r = None
    for _ in range(n):
        r = t(r)


@flow
def fanout(n: int, kind: str) -> None:
    t = TASKS[kind]
    root = t(None)
    futures = [t.submit(root) for _ in range(n - 1)]
    wait(futures)
    for f in futures:
        f.result()


FLOWS = {"chain": chain, "fanout": fanout}


def _wait_recorded(client, flow_run_id, n: int) -> None:
    flt = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    deadline = time.monotonic() + RECORD_TIMEOUT_S
    while True:
        runs = client.read_task_runs(flow_run_filter=flt, limit=n + 10, sort=TaskRunSort.EXPECTED_START_TIME_ASC)
        done = sum(1 for r in runs if r.state_type is not None and r.state_type.value == "COMPLETED")
        if done >= n:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"prefect server recorded {done}/{n} task runs after {RECORD_TIMEOUT_S}s")
        time.sleep(0.05)


def _runner(client, shape: str, kind: str):
    fl = FLOWS[shape]

    def run(n: int) -> dict:
        t0 = time.perf_counter()
        state = fl(n, kind, return_state=True)
        wall = time.perf_counter() - t0
        if not state.is_completed():
            raise RuntimeError(f"prefect {shape}/{kind} flow ended {state.type}")
        _wait_recorded(client, state.state_details.flow_run_id, n)
        return {"wall": wall, "recorded": time.perf_counter() - t0}

    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=100)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--logging", choices=("quiet", "default"), default="quiet")
    args = ap.parse_args()
    if args.logging == "quiet":
        logging.getLogger("prefect").setLevel(logging.WARNING)

    import prefect

    results: dict = {}
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        t0 = time.perf_counter()
        chain(1, "python")  # starts the ephemeral API server; not timed
        startup_s = time.perf_counter() - t0
        with get_client(sync_client=True) as client:
            for kind in ("python", "shell"):
                for shape in FLOWS:
                    results[f"{kind}_{shape}"] = per_task(_runner(client, shape, kind), args.tasks, args.reps)
    print(json.dumps({
        "tool": "prefect",
        "version": prefect.__version__,
        "mode": "default ephemeral local API server, tasks in the flow process, heartbeats off, "
                + ("loggers at WARNING" if args.logging == "quiet" else "default logging"),
        "logging": args.logging,
        "server_startup_s": round(startup_s, 2),
        "results": results,
    }), flush=True)


if __name__ == "__main__":
    main()
