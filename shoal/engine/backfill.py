"""Backfill: runs for every logical date of a range, serial or N at a time, either order.

The dates are the workflow's cron fire times inside the range (whole days, both ends included,
in the schedule's timezone), or one per day at midnight for a workflow without a schedule.
All runs are created at once (queued); the driver starts them `parallel` at a time in order.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import Connection, insert

from shoal.engine.clock import as_aware, check_logical_date, fire_times, to_utc_naive
from shoal.engine.runs import trigger_run
from shoal.engine.workflows import get_workflow
from shoal.errors import InvalidInput
from shoal.spec.models import DEFAULT_PROJECT
from shoal.store import Store, utcnow
from shoal.store.models import backfills

MAX_BACKFILL_RUNS = 10_000


def backfill_dates(cron: str | None, timezone: str, start: date, end: date) -> list[datetime]:
    lo = as_aware(datetime.combine(start, time()), timezone)
    hi = as_aware(datetime.combine(end, time.max), timezone)
    if cron is None:
        return [as_aware(start + timedelta(days=i), timezone) for i in range((end - start).days + 1)]
    dates = []
    for t in fire_times(cron, timezone, lo, hi):
        dates.append(t)
        if len(dates) > MAX_BACKFILL_RUNS:
            break
    return dates


def backfill_plan(
    store: Store, name: str, *, start: date, end: date, project: str = DEFAULT_PROJECT, parallel: int = 1,
    descending: bool = False, conn: Connection | None = None,
) -> list[datetime]:
    """The logical dates a backfill of `start`..`end` runs, in the order it runs them (InvalidInput,
    naming the field, for a range that is bad or holds no run). Creates nothing."""
    check_logical_date(start, "start", field="start")
    check_logical_date(end, "end", field="end")
    if end < start:
        raise InvalidInput(f"end {end} is before start {start}: the range is empty", field="end")
    if parallel < 1:
        raise InvalidInput(f"parallel must be at least 1, got {parallel}", field="parallel")
    wf = get_workflow(store, name, project=project, conn=conn)
    sched = wf.spec.schedule
    timezone = sched.timezone if sched else "UTC"
    dates = backfill_dates(sched.cron if sched else None, timezone, start, end)
    if not dates:
        raise InvalidInput(
            f"no fire time of {sched.cron!r} falls between {start} and {end}" if sched else "empty range", field="start"
        )
    if len(dates) > MAX_BACKFILL_RUNS:
        raise InvalidInput(f"the range holds more than {MAX_BACKFILL_RUNS} runs; split it", field="end")
    if descending:
        dates.reverse()
    return dates


def create_backfill(
    store: Store,
    name: str,
    *,
    start: date,
    end: date,
    project: str = DEFAULT_PROJECT,
    parallel: int = 1,
    descending: bool = False,
    params: dict[str, str] | None = None,
    disabled: list[str] | None = None,
) -> tuple[int, list[int]]:
    """Create a backfill and its queued runs; returns (backfill id, run ids in execution order)."""
    with store.engine.begin() as conn:
        dates = backfill_plan(store, name, start=start, end=end, project=project, parallel=parallel,
                              descending=descending, conn=conn)
        wf = get_workflow(store, name, project=project, conn=conn)
        bf_id = conn.execute(
            insert(backfills).values(
                workflow_id=wf.id, start_date=to_utc_naive(dates[0] if not descending else dates[-1]),
                end_date=to_utc_naive(dates[-1] if not descending else dates[0]), parallel=parallel,
                descending=descending, params=dict(params or {}), created_at=utcnow(),
            )
        ).inserted_primary_key[0]
        run_ids = [
            trigger_run(
                store, name, project=project, params=params, logical_date=d, disabled=disabled,
                trigger="backfill", backfill_id=bf_id, dedup_key=f"backfill:{bf_id}:{d.isoformat()}", conn=conn,
            )
            for d in dates
        ]
    return int(bf_id), run_ids
