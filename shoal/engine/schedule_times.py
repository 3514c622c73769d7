"""Where a schedule begins and which fire times it makes: what storing a schedule and the
scheduler's tick both follow, and what a preview shows before a schedule is stored.

`planned_fires` walks the same steps as the scheduler (`scheduler._fire`) from a schedule set
at `now`: catch-up first (every due fire time since `start`, only the latest `max_catchup`),
then each `next_fire` until `end`. It uses the scheduler's own clock (`clock.next_fire`, stepped
in wall-clock time for fixed-time crons), so a preview and the runs never disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from shoal.engine.clock import as_aware, latest_fires, next_fire
from shoal.spec.models import MAX_LOGICAL_DATE, Schedule


def schedule_bounds(s: Schedule) -> tuple[datetime | None, datetime | None]:
    """A schedule's start and end as aware datetimes in its timezone. An `end` given as a date
    includes that whole day (like backfill's --end); one past the last runnable date is no end."""
    start = as_aware(s.start, s.timezone) if s.start else None
    end = None
    end_day = s.end.date() if isinstance(s.end, datetime) else s.end
    if s.end is not None and end_day is not None and end_day <= MAX_LOGICAL_DATE:
        end = as_aware(s.end if isinstance(s.end, datetime) else datetime.combine(s.end, time.max), s.timezone)
    return start, end


def first_fire(
    cron: str, timezone: str, start: datetime | None, catchup: bool, now: datetime | None = None,
) -> datetime:
    """Where a new schedule begins: its start if it catches up (or has not begun), else the
    next fire from now."""
    now = now or datetime.now(UTC)
    if start is not None and (catchup or start > now):
        return next_fire(cron, timezone, start - timedelta(microseconds=1))
    return next_fire(cron, timezone, now)


def planned_fires(s: Schedule, *, count: int, now: datetime | None = None,
                  max_catchup: int = 1000) -> tuple[list[datetime], int]:
    """The first `count` logical dates the scheduler gives runs to, for `s` stored at `now`
    (aware, in the schedule's timezone), and how many of them are catch-up runs created at
    once (fire times already past at `now`; at most `max_catchup`, the latest ones)."""
    now = now or datetime.now(UTC)
    start, end = schedule_bounds(s)
    fire = first_fire(s.cron, s.timezone, start, s.catchup, now)
    horizon = now if end is None else min(now, end)
    due: list[datetime] = []
    while fire <= horizon and len(due) <= max_catchup:
        due.append(fire)
        fire = next_fire(s.cron, s.timezone, fire)
    if len(due) > max_catchup:  # as the scheduler does: only the latest max_catchup are run
        due = latest_fires(s.cron, s.timezone, horizon, max_catchup)
        fire = next_fire(s.cron, s.timezone, due[-1])
    if start is not None:
        due = [t for t in due if t >= start]
    times = due[:count]
    while len(times) < count and (end is None or fire <= end) and fire.date() <= MAX_LOGICAL_DATE:
        times.append(fire)
        fire = next_fire(s.cron, s.timezone, fire)
    return times, len(due)
