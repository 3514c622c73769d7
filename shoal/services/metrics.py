"""Monitoring numbers read from the metadata database when asked: runs and task runs by state,
the queue of ready task runs, scheduler lag and task durations as histograms.

What `GET /metrics` serves (shoal/api/metrics.py turns these into Prometheus families). Nothing
is counted in memory: the database is the only source of truth, so every API replica answers
the same and a restart loses nothing. The numbers are aggregated by the database (GROUP BY),
never by loading rows into Python: what comes back is one row per workflow, state and bucket,
however long the history. A histogram is counted by giving each row its bucket's index (one
CASE) and grouping on it, then summing the groups into Prometheus' cumulative buckets here; that
costs one CASE per row where a SUM(CASE ...) per bucket would cost an aggregate per bucket per
row. Task-run counts and durations come from one pass over `task_runs`, the lag from another.

Histograms cover the whole history kept in the database, so their counts only grow while rows
are added; a rerun (which clears a task run's times) or deleting a workflow lowers them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate

from sqlalchemy import Connection, and_, case, func, select
from sqlalchemy.sql.elements import ColumnElement

from shoal.engine.access import Actor, require_instance_admin
from shoal.engine.states import TASK_TERMINAL, RunState, TaskRunState
from shoal.store import Store
from shoal.store.functions import seconds_between
from shoal.store.models import projects, runs, task_runs, workflows

__all__ = [
    "RUN_STATES", "TASK_STATES", "Histogram", "StateCounts", "TaskRunStats", "alert_deliveries", "may_read",
    "queue_depth", "run_counts", "scheduler_lag", "task_run_stats",
]

RUN_STATES: tuple[str, ...] = tuple(str(s) for s in RunState)
TASK_STATES: tuple[str, ...] = tuple(str(s) for s in TaskRunState)


@dataclass(frozen=True)
class Histogram:
    """Observations counted into buckets, cumulatively as Prometheus wants them: `cumulative[i]`
    observations were <= `bounds[i]`; `count` is all of them (the +Inf bucket), `total` their sum."""

    bounds: tuple[float, ...]
    cumulative: tuple[int, ...]
    count: int
    total: float

    @classmethod
    def of(cls, bounds: Sequence[float], groups: Iterable[tuple[int, int, float]]) -> Histogram:
        """From (bucket index, count, sum) groups; index len(bounds) is above the last bound."""
        per_bucket = [0] * (len(bounds) + 1)
        total = 0.0
        for index, n, subtotal in groups:
            per_bucket[index] += int(n)
            total += float(subtotal or 0.0)  # PostgreSQL may answer a Decimal
        cumulative = tuple(accumulate(per_bucket))
        return cls(tuple(bounds), cumulative[:-1], cumulative[-1], total)


@dataclass(frozen=True)
class StateCounts:
    """How many runs of one workflow are in each state; every state is present, zeros included,
    so a series never vanishes when its count drops to 0."""

    project: str
    workflow: str
    counts: dict[str, int]


@dataclass(frozen=True)
class TaskRunStats:
    """One workflow's task runs: how many are in each state (every state, zeros included), and
    how long the ended ones' last attempts took."""

    project: str
    workflow: str
    counts: dict[str, int]
    durations: Histogram


def _bucket(value: ColumnElement[float], bounds: Sequence[float]) -> ColumnElement[int]:
    """The index of the first bound `value` is <= to; len(bounds) above them all."""
    return case(*((value <= float(b), i) for i, b in enumerate(bounds)), else_=len(bounds))


def _names(conn: Connection) -> list[tuple[int, str, str]]:
    """(workflow id, project, workflow) of every workflow, those without runs included, in order."""
    q = (select(workflows.c.id, projects.c.name, workflows.c.name)
         .join(projects, projects.c.id == workflows.c.project_id)
         .order_by(projects.c.name, workflows.c.name))
    return [(wid, project, name) for wid, project, name in conn.execute(q)]


def may_read(actor: Actor) -> None:
    """The metrics name every project's workflows: only an instance admin (Prometheus' token)
    reads them, or anyone when SHOAL_METRICS_PUBLIC opens them on a network that is trusted."""
    require_instance_admin(actor, "read the instance's metrics (they name every project's workflows)")


def run_counts(store: Store) -> list[StateCounts]:
    """Runs per workflow and state, for every workflow (one GROUP BY over `runs`)."""
    q = select(runs.c.workflow_id, runs.c.state, func.count()).group_by(runs.c.workflow_id, runs.c.state)
    with store.engine.connect() as conn:
        found: dict[int, dict[str, int]] = {}
        for wid, state, n in conn.execute(q):
            found.setdefault(wid, {})[state] = int(n)
        return [StateCounts(project, name, {s: found.get(wid, {}).get(s, 0) for s in RUN_STATES})
                for wid, project, name in _names(conn)]


def task_run_stats(store: Store, duration_bounds: Sequence[float]) -> list[TaskRunStats]:
    """Task runs per workflow: counts by state and a histogram of `duration` (seconds) over the
    ended ones, in one pass grouped by workflow, state and duration bucket. A task run that ended
    without running (skipped, upstream failed, disabled, stopped before it started) has no
    duration and is counted by state only."""
    ran = and_(task_runs.c.state.in_([str(s) for s in TASK_TERMINAL]), task_runs.c.duration.is_not(None))
    rows = (
        select(runs.c.workflow_id, task_runs.c.state, task_runs.c.duration,
               case((ran, _bucket(task_runs.c.duration, duration_bounds))).label("bucket"))  # NULL: not ended
        .join(runs, runs.c.id == task_runs.c.run_id)
        .subquery()
    )
    q = (select(rows.c.workflow_id, rows.c.state, rows.c.bucket, func.count(), func.sum(rows.c.duration))
         .group_by(rows.c.workflow_id, rows.c.state, rows.c.bucket))
    counts: dict[int, dict[str, int]] = {}
    buckets: dict[int, list[tuple[int, int, float]]] = {}
    with store.engine.connect() as conn:
        for wid, state, bucket, n, total in conn.execute(q):
            per_state = counts.setdefault(wid, {})
            per_state[state] = per_state.get(state, 0) + int(n)
            if bucket is not None:
                buckets.setdefault(wid, []).append((bucket, n, total))
        names = _names(conn)
    return [
        TaskRunStats(project, name, {s: counts.get(wid, {}).get(s, 0) for s in TASK_STATES},
                     Histogram.of(duration_bounds, buckets.get(wid, ())))
        for wid, project, name in names
    ]


def alert_deliveries(store: Store) -> dict[tuple[str, str, str], int]:
    """Alert deliveries by (event, channel, state), every combination seen (docs/alerts.md)."""
    from shoal.store.models import alert_deliveries as deliveries

    q = (select(deliveries.c.event, deliveries.c.channel, deliveries.c.state, func.count())
         .group_by(deliveries.c.event, deliveries.c.channel, deliveries.c.state))
    with store.engine.connect() as conn:
        return {(r[0], r[1], r[2]): int(r[3]) for r in conn.execute(q)}


def queue_depth(store: Store) -> int:
    """Task runs ready to start and waiting for executor capacity: `queued` task runs of running
    runs. Those of a paused run are left out: they wait for a user's resume, not for a slot."""
    q = (
        select(func.count())
        .select_from(task_runs.join(runs, runs.c.id == task_runs.c.run_id))
        .where(task_runs.c.state == str(TaskRunState.QUEUED), runs.c.state == str(RunState.RUNNING))
    )
    with store.engine.connect() as conn:
        return int(conn.execute(q).scalar_one())


def scheduler_lag(store: Store, bounds: Sequence[float]) -> Histogram:
    """Seconds from ready (`queued_at`) to running (`started_at`) of each task run that started,
    its latest attempt (a retry is queued again). A task run queued again since its last start
    (a retry waiting for a slot) has started_at < queued_at and is not counted until it starts."""
    lags = (
        select(seconds_between(task_runs.c.queued_at, task_runs.c.started_at).label("lag"))
        .where(task_runs.c.queued_at.is_not(None), task_runs.c.started_at.is_not(None),
               task_runs.c.started_at >= task_runs.c.queued_at)
        # OFFSET 0 keeps both databases from inlining this subquery, which would compute the lag
        # again in every branch of the CASE below (it parses two timestamps on SQLite).
        .offset(0)
        .subquery()
    )
    bucketed = select(lags.c.lag, _bucket(lags.c.lag, bounds).label("bucket")).subquery()
    q = select(bucketed.c.bucket, func.count(), func.sum(bucketed.c.lag)).group_by(bucketed.c.bucket)
    with store.engine.connect() as conn:
        return Histogram.of(bounds, ((b, n, total) for b, n, total in conn.execute(q)))
