"""Dagster anchor of engine_overhead.py: per-task wall time of trivial in-process ops.

Runs in benchmarks/.venvs/anchors (never in the project's venv) and prints one JSON line.
Each job runs with `execute_in_process` (the in-process executor: every op in this process, no
process isolation) against one warm DagsterInstance reused by all runs:
- `--storage memory` (default): `DagsterInstance.ephemeral()`, in-memory storage; nothing of a
  run outlives the process;
- `--storage sqlite`: the persistent instance of `$DAGSTER_HOME` (set by the caller to a fresh
  temporary directory with an empty dagster.yaml), i.e. Dagster's default SQLite run, event-log
  and schedule storage, as `dagster dev` and a deployed Dagster keep them: every step event is
  written to a database, as shoal writes every task transition to its own.
`--logging quiet` sets the console logger to ERROR, which only makes Dagster faster;
`--logging default` keeps Dagster's default (every step event logged to the console, stderr),
as a user running a job gets it.

Shapes, in Dagster's own idiom (one op definition aliased N times in a graph, results passed by
the default in-memory IO manager):
- chain: t0 -> t1 -> ... -> t{N-1}, each op taking the previous op's output as its input;
- fanout: one root op t0 and N-1 ops each taking t0's output.
Kinds: `python` = the op body does nothing; `shell` = the op body is subprocess.run(["true"]).

Usage: python dagster_bench.py [--tasks 100] [--reps 3] [--logging quiet|default] [--storage memory|sqlite]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import per_task

warnings.filterwarnings("ignore")

from dagster import DagsterInstance, job, op  # noqa: E402 - after the warnings filter, which hides its import-time noise

QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _shell() -> int:
    subprocess.run(["true"], check=True)
    return 1


@op
def py_root() -> int:
    return 1


@op
def py_child(x: int) -> int:
    return 1


@op
def sh_root() -> int:
    return _shell()


@op
def sh_child(x: int) -> int:
    return _shell()


OPS = {"python": (py_root, py_child), "shell": (sh_root, sh_child)}


def build(shape: str, kind: str, n: int):
    root, child = OPS[kind]

    @job(name=f"{kind}_{shape}_{n}")
    def the_job():
        first = root.alias("t0")()
        prev = first
        for i in range(1, n):
            out = child.alias(f"t{i}")(prev if shape == "chain" else first)
            if shape == "chain":
                prev = out

    return the_job


def _runner(instance: DagsterInstance, shape: str, kind: str, n: int, run_config: dict):
    jobs = {1: build(shape, kind, 1), n: build(shape, kind, n)}

    def run(k: int) -> None:
        result = jobs[k].execute_in_process(run_config=run_config, instance=instance)
        if not result.success:
            raise RuntimeError(f"dagster {shape}/{kind} job failed")

    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=100)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--logging", choices=("quiet", "default"), default="quiet")
    ap.add_argument("--storage", choices=("memory", "sqlite"), default="memory")
    args = ap.parse_args()
    quiet = args.logging == "quiet"
    if quiet:
        logging.getLogger("dagster").setLevel(logging.ERROR)
    run_config = QUIET_RUN_CONFIG if quiet else {}

    import dagster

    results: dict = {}
    if args.storage == "sqlite":
        home = os.environ.get("DAGSTER_HOME")
        if not home or not os.path.isdir(home):
            raise SystemExit("--storage sqlite needs DAGSTER_HOME set to an existing directory")
        open(os.path.join(home, "dagster.yaml"), "a").close()  # empty: Dagster's default storage
        instance_cm = DagsterInstance.get()
    else:
        instance_cm = DagsterInstance.ephemeral()
    with instance_cm as instance:
        storage = type(instance.run_storage).__name__
        for kind in ("python", "shell"):
            for shape in ("chain", "fanout"):
                results[f"{kind}_{shape}"] = per_task(
                    _runner(instance, shape, kind, args.tasks, run_config), args.tasks, args.reps
                )
    print(json.dumps({
        "tool": "dagster",
        "version": dagster.__version__,
        "mode": "execute_in_process (in-process executor), "
                + ("ephemeral instance (in-memory storage), " if args.storage == "memory"
                   else "persistent instance in DAGSTER_HOME (default SQLite storage), ")
                + ("console log ERROR" if quiet else "default console logging"),
        "logging": args.logging,
        "storage": args.storage,
        "run_storage": storage,
        "results": results,
    }), flush=True)


if __name__ == "__main__":
    main()
