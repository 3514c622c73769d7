"""Cron arithmetic (croniter), timezone-aware, and the conversions to stored naive-UTC times.

A run's logical date is the schedule's fire time (DolphinScheduler's "schedule time"): the run
fired at 2026-01-02 02:00 Asia/Shanghai has `${ds}` = 2026-01-02 and `$[yyyyMMdd-1]` = 20260101.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from shoal.errors import InvalidInput
from shoal.spec.models import MAX_LOGICAL_DATE, MIN_LOGICAL_DATE


def to_utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def from_utc_naive(stored: datetime, timezone: str) -> datetime:
    try:
        return stored.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
    except OverflowError:  # the edge of year 1 or 9999 has no local time west or east of UTC
        return stored.replace(tzinfo=UTC)


def as_aware(value: date | datetime, timezone: str) -> datetime:
    """A date or (naive = local to `timezone`) datetime as an aware datetime in `timezone`."""
    tz = ZoneInfo(timezone)
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    try:
        return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)
    except OverflowError:  # an aware datetime at the very edge of year 1 or 9999, moved across zones
        check_logical_date(value)
        raise


def check_logical_date(when: date | datetime, what: str = "logical date", field: str | None = None) -> None:
    """Refuse a date outside what shoal can run (InvalidInput, exit 2: nothing is created);
    `field`: the request's field it came from, for the error's details."""
    day = when.date() if isinstance(when, datetime) else when
    if not MIN_LOGICAL_DATE <= day <= MAX_LOGICAL_DATE:
        raise InvalidInput(
            f"{what} {when.isoformat()} is out of range: shoal runs logical dates from "
            f"{MIN_LOGICAL_DATE} to {MAX_LOGICAL_DATE}", **({"field": field} if field else {}),
        )


def next_fire(cron: str, timezone: str, after: datetime) -> datetime:
    """The first fire time strictly after `after` (aware), in `timezone`.

    A schedule at a fixed wall-clock time (`30 1 * * *`) fires once a day across DST changes, as
    cron and Airflow do: it is stepped in local wall-clock time, so the hour repeated when clocks
    go back does not fire twice (and a time skipped when they go forward fires at the jump).
    Other schedules (`*/15 * * * *`, `0 * * * *`) step in real time, every occurrence counted.
    """
    from croniter import croniter  # here: reading runs converts times but never steps a cron

    tz = ZoneInfo(timezone)
    local = after.astimezone(tz)
    if _fixed_time(cron):
        wall = croniter(cron, local.replace(tzinfo=None)).get_next(datetime)
        return wall.replace(tzinfo=tz)  # fold=0: the first of a repeated wall time
    return croniter(cron, local).get_next(datetime)


def prev_fire(cron: str, timezone: str, before: datetime) -> datetime:
    """The last fire time strictly before `before` (aware): `next_fire` stepped backwards."""
    from croniter import croniter

    tz = ZoneInfo(timezone)
    local = before.astimezone(tz)
    if _fixed_time(cron):
        wall = croniter(cron, local.replace(tzinfo=None)).get_prev(datetime)
        return wall.replace(tzinfo=tz)
    return croniter(cron, local).get_prev(datetime)


def latest_fires(cron: str, timezone: str, until: datetime, count: int) -> list[datetime]:
    """The `count` latest fire times at or before `until`, ascending."""
    times: list[datetime] = []
    t = until.astimezone(ZoneInfo(timezone)) + timedelta(microseconds=1)  # `until` itself counts
    while len(times) < count:
        t = prev_fire(cron, timezone, t)
        times.append(t)
    return times[::-1]


def fire_times(cron: str, timezone: str, start: datetime, end: datetime) -> Iterator[datetime]:
    """Every fire time in [start, end] (aware datetimes), ascending."""
    from croniter import croniter

    t = start.astimezone(ZoneInfo(timezone))
    # Fire times are strictly after where they are counted from: include `start` if it matches.
    if croniter.match(cron, t):
        yield t
    while (t := next_fire(cron, timezone, t)) <= end:
        yield t


@lru_cache(maxsize=256)
def _fixed_time(cron: str) -> bool:
    """Whether the schedule fires at one wall-clock time of day (Airflow's test: the next two
    fire times from a reference date share their hour and minute)."""
    from croniter import croniter

    it = croniter(cron, datetime(2000, 1, 1))
    a, b = it.get_next(datetime), it.get_next(datetime)
    return (a.hour, a.minute) == (b.hour, b.minute)
