"""Cron arithmetic across daylight-saving changes (shoal.engine.clock)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from shoal.engine.clock import fire_times, next_fire

NY = ZoneInfo("America/New_York")


def _times(cron: str, start: datetime, end: datetime) -> list[str]:
    return [t.isoformat() for t in fire_times(cron, "America/New_York", start, end)]


def test_a_fixed_time_fires_once_on_the_day_clocks_go_back() -> None:
    # 01:30 happens twice on 2026-11-01 in New York; cron and Airflow run a daily job once.
    assert _times("30 1 * * *", datetime(2026, 10, 31, tzinfo=NY), datetime(2026, 11, 2, 12, tzinfo=NY)) == [
        "2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00",
    ]


def test_a_fixed_time_skipped_when_clocks_go_forward_fires_at_the_jump() -> None:
    (skipped,) = [t for t in fire_times("30 2 * * *", "America/New_York", datetime(2026, 3, 8, tzinfo=NY),
                                        datetime(2026, 3, 8, 23, tzinfo=NY))]
    assert skipped.astimezone(UTC) == datetime(2026, 3, 8, 3, 30, tzinfo=NY).astimezone(UTC)  # 02:30 does not exist


def test_an_hourly_schedule_fires_in_every_real_hour_including_the_repeated_one() -> None:
    assert _times("30 * * * *", datetime(2026, 11, 1, 0, 0, tzinfo=NY), datetime(2026, 11, 1, 2, 45, tzinfo=NY)) == [
        "2026-11-01T00:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00",
        "2026-11-01T02:30:00-05:00",
    ]


@pytest.mark.parametrize("cron", ["0 2 * * *", "15 1 * * 0", "*/20 * * * *", "0 0 1 * *"])
def test_next_fire_is_strictly_after_and_agrees_with_fire_times(cron: str) -> None:
    # Compared in UTC: datetimes of one zone compare by wall time, ignoring DST's fold.
    start, end = datetime(2026, 9, 20, tzinfo=NY), datetime(2026, 12, 20, tzinfo=NY)
    times = [t.astimezone(UTC) for t in fire_times(cron, "America/New_York", start, end)]
    assert times == sorted(set(times)) and len(times) > 1
    for before, after in zip(times, times[1:], strict=False):
        assert next_fire(cron, "America/New_York", before).astimezone(UTC) == after
