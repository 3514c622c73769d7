"""The run history the API benchmark seeds, the same for shoal and for its Airflow anchor.

`plan(n)` gives n runs of WORKFLOWS (round robin, one an hour back from a fixed date, oldest
first), each with a run state drawn from STATE_MIX and the states of its TASKS task runs as they
would be after such a run: a success has every task succeeded; a failed run succeeded up to a
task that failed, the rest upstream_failed; a running one is running a task with the rest
pending; a stopped one stopped there; a queued one has them all pending. Always the same for the
same n (a fixed random seed).

Stdlib only.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

WORKFLOWS = ("ingest", "features", "train", "report")
TASKS = 20
TASK_NAMES = tuple(f"t{i:02d}" for i in range(1, TASKS + 1))
# Percent of runs in each state; the list requests filter on the first three.
STATE_MIX = (("success", 80), ("failed", 10), ("running", 4), ("stopped", 4), ("queued", 2))
LIST_STATES = ("success", "failed", "running")
LAST_DATE = dt.datetime(2026, 11, 30, 0, 0)


@dataclass(frozen=True)
class PlannedRun:
    index: int  # 0 = oldest
    workflow: str
    state: str
    logical_date: dt.datetime  # naive UTC
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    task_states: tuple[str, ...]
    task_seconds: tuple[float, ...]  # how long each task that started ran


def workflow_yaml(project: str) -> str:
    """The WORKFLOWS as one multi-document YAML text: TASKS shell tasks each, a chain where every
    fourth task also waits for the task three before it."""
    docs = []
    for name in WORKFLOWS:
        lines = [f"name: {name}", f"project: {project}", "tasks:"]
        for i, task in enumerate(TASK_NAMES):
            ups = [TASK_NAMES[i - 1]] if i else []
            if i >= 3 and i % 4 == 3:
                ups.append(TASK_NAMES[i - 3])
            up = f", upstream: [{', '.join(ups)}]" if ups else ""
            lines.append(f"  - {{name: {task}, type: shell, command: 'echo {name} {task}'{up}}}")
        docs.append("\n".join(lines) + "\n")
    return "---\n".join(docs)


def plan(n: int, seed: int = 15) -> list[PlannedRun]:
    rng = random.Random(seed)
    states = [s for s, _ in STATE_MIX]
    weights = [w for _, w in STATE_MIX]
    out = []
    for i in range(n):
        state = rng.choices(states, weights)[0]
        logical = LAST_DATE - dt.timedelta(hours=n - 1 - i)
        secs = tuple(round(rng.uniform(0.5, 30.0), 3) for _ in TASK_NAMES)
        stop_at = rng.randrange(TASKS)
        if state == "success":
            tstates = ("success",) * TASKS
        elif state == "failed":
            tstates = ("success",) * stop_at + ("failed",) + ("upstream_failed",) * (TASKS - stop_at - 1)
        elif state == "running":
            tstates = ("success",) * stop_at + ("running",) + ("pending",) * (TASKS - stop_at - 1)
        elif state == "stopped":
            tstates = ("success",) * stop_at + ("stopped",) * (TASKS - stop_at)
        else:
            tstates = ("pending",) * TASKS
        started = None if state == "queued" else logical + dt.timedelta(seconds=rng.uniform(1, 20))
        ended = None
        if state in ("success", "failed", "stopped") and started is not None:
            ran = sum(s for s, t in zip(secs, tstates, strict=True) if t in ("success", "failed"))
            ended = started + dt.timedelta(seconds=ran + 1)
        out.append(PlannedRun(i, WORKFLOWS[i % len(WORKFLOWS)], state, logical, started, ended, tstates, secs))
    return out
