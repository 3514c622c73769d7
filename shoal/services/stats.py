"""Run statistics for the web UI's charts: a workflow's last runs with their durations and a
summary, runs per day by state, and the last runs of many workflows at once (the sparklines of
the Workflows list).

The database picks the rows: the last N runs of a workflow are read by the `(workflow_id, id)`
index newest first, so their cost does not grow with the history; the last N of many workflows
are one statement of such bounded reads (a LATERAL join on PostgreSQL, an index range per
workflow on SQLite), not a request or a query per workflow;
runs per day are counted by the database (GROUP BY day and state), never loaded. Durations
(`ended_at - started_at`) and the summary's percentiles are worked out here from the at most
1,000 rows the answer carries anyway: datetimes subtract exactly, where SQLite's julianday
arithmetic rounds to about a millisecond, and both backends give the same figures. The
sparklines' durations, many workflows' worth, come from the database (to the millisecond).

A day is a UTC calendar day of the run's creation (`created_at`): every run has one (a queued
run has no start yet), and it does not move when a run is rerun or recovered.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, select, true

from shoal.engine.access import LOCAL, Actor, Role, require
from shoal.engine.clock import from_utc_naive
from shoal.engine.states import RUN_TERMINAL, RunState
from shoal.errors import InvalidInput, NotFound
from shoal.spec.models import DEFAULT_PROJECT
from shoal.store import Store
from shoal.store.functions import seconds_between
from shoal.store.models import projects, runs, workflows

__all__ = [
    "MAX_DAYS", "MAX_LAST", "MAX_RECENT_LAST", "MAX_RECENT_WORKFLOWS", "DayCounts", "DurationSummary",
    "RecentRun", "RecentRuns", "RunPoint", "RunsPerDay", "WorkflowStats", "percentile", "recent_runs",
    "runs_per_day", "summarize", "workflow_stats",
]

MAX_LAST = 1000  # runs of one workflow's chart
MAX_DAYS = 366
MAX_RECENT_WORKFLOWS = 100  # of one sparkline request (a page of the Workflows list is 50)
MAX_RECENT_LAST = 100
RUN_STATES: tuple[str, ...] = tuple(str(s) for s in RunState)
_FINISHED = frozenset(str(s) for s in RUN_TERMINAL)


@dataclass(frozen=True)
class RunPoint:
    """One run of a workflow's chart. `logical_date` is ISO in the run's timezone, the other
    times ISO UTC; `duration` is seconds from start to end (None until it has ended, or for a
    run stopped before it started)."""

    id: int
    logical_date: str
    trigger: str
    state: str
    started_at: str | None
    ended_at: str | None
    duration: float | None


@dataclass(frozen=True)
class DurationSummary:
    """`finished`: runs that ended (success, failed, stopped); `success_rate`: the share of them
    that succeeded (None when none has ended). The durations are of succeeded runs only (a run
    that failed early would pull them down); None without any."""

    runs: int
    finished: int
    succeeded: int
    success_rate: float | None
    mean: float | None
    p50: float | None
    p90: float | None
    max: float | None


@dataclass(frozen=True)
class WorkflowStats:
    """A workflow's last `last` runs, oldest first (fewer if it has fewer), and their summary."""

    project: str
    workflow: str
    last: int
    runs: list[RunPoint]
    summary: DurationSummary


@dataclass(frozen=True)
class DayCounts:
    """Runs created on `day` (UTC, `YYYY-MM-DD`): a count for every run state, zeros included."""

    day: str
    counts: dict[str, int]
    total: int


@dataclass(frozen=True)
class RunsPerDay:
    """Every day from `since` to `until` (UTC, inclusive), days without runs included."""

    since: str
    until: str
    project: str | None
    workflow: str | None
    states: list[str]
    days: list[DayCounts]


@dataclass(frozen=True)
class RecentRun:
    """One bar of a sparkline: seconds from start to end (to about a millisecond), None until
    the run has ended."""

    id: int
    state: str
    duration: float | None


@dataclass(frozen=True)
class RecentRuns:
    """The last `last` runs of each workflow asked for, oldest first, keyed `project/name`
    (a workflow without runs: an empty list); `missing`: those asked for that do not exist."""

    last: int
    workflows: dict[str, list[RecentRun]]
    missing: list[str]


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """The `p` (0..1) percentile of sorted values, interpolating linearly between the two
    nearest ranks (as PostgreSQL's percentile_cont and numpy's default do); None if empty."""
    if not ordered:
        return None
    at = p * (len(ordered) - 1)
    low = math.floor(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def summarize(points: Iterable[tuple[str, float | None]]) -> DurationSummary:
    """The summary of (state, duration) pairs: see DurationSummary."""
    total = finished = 0
    ok: list[float] = []
    succeeded = 0
    for state, duration in points:
        total += 1
        if state in _FINISHED:
            finished += 1
        if state == RunState.SUCCESS:
            succeeded += 1
            if duration is not None:
                ok.append(duration)
    ok.sort()
    return DurationSummary(
        runs=total, finished=finished, succeeded=succeeded,
        success_rate=succeeded / finished if finished else None,
        mean=sum(ok) / len(ok) if ok else None, p50=percentile(ok, 0.5), p90=percentile(ok, 0.9),
        max=ok[-1] if ok else None,
    )


def workflow_stats(
    store: Store, name: str, *, project: str = DEFAULT_PROJECT, last: int = 50, actor: Actor = LOCAL,
) -> WorkflowStats:
    """The last `last` (1..1000) runs of a workflow, oldest first, with their durations, and
    the success rate and duration summary over them."""
    _check_range("last", last, 1, MAX_LAST)
    require(actor, project, Role.VIEWER, f"read runs of project {project!r}")
    with store.reading() as conn:
        wid = conn.execute(
            select(workflows.c.id).join(projects, projects.c.id == workflows.c.project_id)
            .where(projects.c.name == project, workflows.c.name == name)
        ).scalar()
        if wid is None:
            raise NotFound(f"workflow {name!r} not found in project {project!r}; "
                           "`shoal workflow list` shows what exists")
        rows = conn.execute(_last_runs(wid, last)).all()
    points = [
        RunPoint(
            id=run_id, logical_date=from_utc_naive(logical, tz).isoformat(), trigger=trigger, state=state,
            started_at=_iso(started), ended_at=_iso(ended), duration=_seconds(started, ended),
        )
        for run_id, logical, tz, trigger, state, started, ended in reversed(rows)
    ]
    return WorkflowStats(project, name, last, points, summarize((p.state, p.duration) for p in points))


def runs_per_day(
    store: Store, *, project: str | None = None, workflow: str | None = None, days: int = 30,
    actor: Actor = LOCAL, today: date | None = None,
) -> RunsPerDay:
    """Runs created on each of the last `days` (1..366) UTC days up to `today` (default: now),
    by state, over the projects `actor` may read (or `project`; `workflow`: runs of workflows
    of that name only). NotFound if `workflow` names none the caller may read."""
    _check_range("days", days, 1, MAX_DAYS)
    if project is not None:
        require(actor, project, Role.VIEWER, f"read runs of project {project!r}")
    until = today or datetime.now(UTC).date()
    since = until - timedelta(days=days - 1)
    start = datetime.combine(since, datetime.min.time())
    end = datetime.combine(until + timedelta(days=1), datetime.min.time())
    scope = select(workflows.c.id).join(projects, projects.c.id == workflows.c.project_id)
    if project is not None:
        scope = scope.where(projects.c.name == project)
    if actor.roles is not None:
        scope = scope.where(projects.c.name.in_(list(actor.roles)))
    if workflow is not None:
        scope = scope.where(workflows.c.name == workflow)
    # SQLite's date() answers text, PostgreSQL's a date: both read back as `YYYY-MM-DD` below.
    day = func.date(runs.c.created_at)
    q = (
        select(day, runs.c.state, func.count())
        .where(runs.c.created_at >= start, runs.c.created_at < end, runs.c.workflow_id.in_(scope))
        .group_by(day, runs.c.state)
    )
    counted: dict[str, dict[str, int]] = {}
    with store.reading() as conn:
        if workflow is not None and conn.execute(scope.limit(1)).first() is None:
            where = f"project {project!r}" if project is not None else "the projects you may read"
            raise NotFound(f"workflow {workflow!r} not found in {where}; `shoal workflow list` shows what exists")
        for d, state, n in conn.execute(q):
            counted.setdefault(str(d)[:10], {})[state] = int(n)
    out = []
    for i in range(days):
        key = (since + timedelta(days=i)).isoformat()
        found = counted.get(key, {})
        counts = {s: found.get(s, 0) for s in RUN_STATES}
        out.append(DayCounts(key, counts, sum(found.values())))
    return RunsPerDay(since.isoformat(), until.isoformat(), project, workflow, list(RUN_STATES), out)


def recent_runs(
    store: Store, names: Sequence[str], *, last: int = 20, actor: Actor = LOCAL,
) -> RecentRuns:
    """The last `last` (1..100) runs of each workflow named `project/name` (1..100 of them),
    oldest first, read in one statement: what a page of the Workflows list draws as sparklines."""
    _check_range("last", last, 1, MAX_RECENT_LAST)
    if not names:
        raise InvalidInput("workflow: name at least one workflow as project/name", field="workflow")
    wanted = list(dict.fromkeys(names))  # asked twice, answered once
    if len(wanted) > MAX_RECENT_WORKFLOWS:
        raise InvalidInput(f"workflow: at most {MAX_RECENT_WORKFLOWS} workflows at once, got {len(wanted)}",
                           field="workflow")
    pairs = [_split(key) for key in wanted]
    for proj in dict.fromkeys(p for p, _ in pairs):
        require(actor, proj, Role.VIEWER, f"read runs of project {proj!r}")
    with store.reading() as conn:
        found = {
            (proj, name): wid
            for wid, proj, name in conn.execute(
                select(workflows.c.id, projects.c.name, workflows.c.name)
                .join(projects, projects.c.id == workflows.c.project_id)
                .where(projects.c.name.in_({p for p, _ in pairs}), workflows.c.name.in_({n for _, n in pairs}))
            )
        }
        ids = [found[p] for p in pairs if p in found]
        rows = conn.execute(_last_runs_of_each(ids, last, store.engine.dialect.name)).all() if ids else []
    by_id: dict[int, list[RecentRun]] = {wid: [] for wid in ids}
    # The statement promises no order: each workflow's runs are put oldest first here.
    for wid, run_id, state, duration in sorted(rows, key=lambda r: r[1]):
        by_id[wid].append(RecentRun(run_id, state, None if duration is None else round(float(duration), 3)))
    answer = {f"{p}/{n}": by_id[found[(p, n)]] for p, n in pairs if (p, n) in found}
    missing = [f"{p}/{n}" for p, n in pairs if (p, n) not in found]
    return RecentRuns(last, answer, missing)


def _last_runs(workflow_id: int, last: int) -> Select[Any]:
    """The newest `last` runs of one workflow, newest first: a bounded walk of the
    `(workflow_id, id)` index."""
    return (
        select(runs.c.id, runs.c.logical_date, runs.c.timezone, runs.c.trigger, runs.c.state, runs.c.started_at,
               runs.c.ended_at)
        .where(runs.c.workflow_id == workflow_id).order_by(runs.c.id.desc()).limit(last)
    )


def _last_runs_of_each(workflow_ids: Sequence[int], last: int, dialect: str) -> Select[Any]:
    """The newest `last` runs of each workflow in one statement of bounded index walks, each
    `last` entries of the `(workflow_id, id)` index (newest first; the caller orders them).

    Not ROW_NUMBER() OVER (PARTITION BY workflow_id): that numbers every run of the workflows
    before keeping the last few, so its cost grows with the history. Not a UNION ALL of one
    LIMIT query per workflow either: SQLAlchemy took longer to build and compile 50 of them
    than the database took to answer."""
    duration = seconds_between(runs.c.started_at, runs.c.ended_at).label("duration")
    if dialect == "postgresql":
        # A LATERAL subquery per workflow: PostgreSQL runs it as one index walk each.
        newest = (
            select(runs.c.id, runs.c.state, duration).where(runs.c.workflow_id == workflows.c.id)
            .order_by(runs.c.id.desc()).limit(last).lateral()
        )
        return (
            select(workflows.c.id, newest.c.id, newest.c.state, newest.c.duration)
            .select_from(workflows).join(newest, true()).where(workflows.c.id.in_(workflow_ids))
        )
    # SQLite has no LATERAL: per workflow, the id of its `last`-th newest run, then its runs from
    # that id on (a range of the same index). A workflow with fewer runs has no floor: all of them.
    floor = (
        select(runs.c.id).where(runs.c.workflow_id == workflows.c.id).order_by(runs.c.id.desc())
        .offset(last - 1).limit(1).correlate(workflows).scalar_subquery()
    )
    bounds = (
        select(workflows.c.id.label("wid"), floor.label("floor")).where(workflows.c.id.in_(workflow_ids)).subquery()
    )
    return (
        select(runs.c.workflow_id, runs.c.id, runs.c.state, duration)
        .join(bounds, and_(runs.c.workflow_id == bounds.c.wid, runs.c.id >= func.coalesce(bounds.c.floor, 0)))
    )


def _split(key: str) -> tuple[str, str]:
    project, sep, name = key.partition("/")
    if not sep or not project or not name or "/" in name:
        raise InvalidInput(f"workflow: {key!r} is not project/name (e.g. default/hello)", field="workflow")
    return project, name


def _check_range(field: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise InvalidInput(f"{field}: expected {low} to {high}, got {value}", field=field)


def _seconds(started: datetime | None, ended: datetime | None) -> float | None:
    return (ended - started).total_seconds() if started is not None and ended is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None
