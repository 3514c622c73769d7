"""Cron arithmetic (croniter), timezone-aware, and the conversions to stored naive-UTC times.

A run's logical date is the schedule's fire time (DolphinScheduler's "schedule time"): the run
fired at 2026-01-02 02:00 Asia/Shanghai has `${ds}` = 2026-01-02 and `$[yyyyMMdd-1]` = 20260101.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from croniter import croniter


def to_utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def from_utc_naive(stored: datetime, timezone: str) -> datetime:
    return stored.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))


def as_aware(value: date | datetime, timezone: str) -> datetime:
    """A date or (naive = local to `timezone`) datetime as an aware datetime in `timezone`."""
    tz = ZoneInfo(timezone)
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)


def next_fire(cron: str, timezone: str, after: datetime) -> datetime:
    """The first fire time strictly after `after` (aware), in `timezone`."""
    it = croniter(cron, after.astimezone(ZoneInfo(timezone)))
    return it.get_next(datetime)


def fire_times(cron: str, timezone: str, start: datetime, end: datetime) -> Iterator[datetime]:
    """Every fire time in [start, end] (aware datetimes), ascending."""
    tz = ZoneInfo(timezone)
    it = croniter(cron, start.astimezone(tz))
    # croniter yields times strictly after its start; include `start` itself if it matches.
    if croniter.match(cron, start.astimezone(tz)):
        yield start.astimezone(tz)
    while True:
        t = it.get_next(datetime)
        if t > end:
            return
        yield t
