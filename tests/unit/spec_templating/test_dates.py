from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from shoal.errors import ParamError
from shoal.spec.templating import check_date_expr, eval_date_expr

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
# A Sunday, 00:30 in Shanghai: still 2026-02-28 in UTC, so a UTC slip shows in every result.
MAR_1 = datetime(2026, 3, 1, 0, 30, tzinfo=SHANGHAI)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("yyyyMMdd", "20260301"),
        ("yyyy-MM-dd", "2026-03-01"),
        ("yyyyMMddHHmmss", "20260301003000"),
        ("HHmmss", "003000"),
        ("yy/MM/dd", "26/03/01"),
        ("yyyy_MM_dd HH:mm:ss", "2026_03_01 00:30:00"),
        ("yyyy.MM", "2026.03"),
        ("yyyyMMdd-1", "20260228"),
        ("yyyy-MM-dd+7", "2026-03-08"),
        ("yyyy-MM-dd-1", "2026-02-28"),
        ("yyyyMMdd-7*2", "20260215"),
        ("yyyyMMddHHmmss-1/24", "20260228233000"),
        ("yyyyMMddHHmmss+2/24", "20260301023000"),
        ("HHmmss-30/24/60", "000000"),
        ("yyyy-MM-dd HH:mm:ss+90/24/60", "2026-03-01 02:00:00"),
        ("  yyyyMMdd  -  1  ", "20260228"),
        ("yyyy-MM-dd HH:mm - 1/24", "2026-02-28 23:30"),
    ],
)
def test_pattern_and_shift(expr: str, expected: str) -> None:
    assert eval_date_expr(expr, MAR_1) == expected


@pytest.mark.parametrize(
    ("expr", "when", "expected"),
    [
        ("add_months(yyyyMMdd,-1)", MAR_1, "20260201"),
        ("add_months(yyyy-MM-dd,12)", MAR_1, "2027-03-01"),
        ("add_months(yyyyMMdd,12*2)", MAR_1, "20280301"),
        (" add_months ( yyyy-MM-dd , -1 ) ", MAR_1, "2026-02-01"),
        # The day is clamped to the target month's end, leap years included.
        ("add_months(yyyy-MM-dd,-1)", at(2026, 3, 31), "2026-02-28"),
        ("add_months(yyyy-MM-dd,-1)", at(2024, 3, 31), "2024-02-29"),
        ("add_months(yyyy-MM-dd,1)", at(2024, 1, 31), "2024-02-29"),
        ("add_months(yyyy-MM-dd,-1)", at(2026, 5, 31), "2026-04-30"),
        ("add_months(yyyy-MM-dd,12)", at(2024, 2, 29), "2025-02-28"),
        ("add_months(yyyy-MM-dd,-13)", at(2026, 1, 15), "2024-12-15"),
        ("add_months(yyyyMMddHHmmss,1)", at(2026, 1, 31, 23, 59), "20260228235900"),
        ("this_day(yyyy-MM-dd)", MAR_1, "2026-03-01"),
        ("last_day(yyyy-MM-dd)", MAR_1, "2026-02-28"),
        ("last_day(yyyyMMdd)", at(2024, 3, 1), "20240229"),
        ("last_day(yyyy-MM-dd)", at(2026, 1, 1), "2025-12-31"),
        ("year_week(yyyy-MM-dd)", MAR_1, "2026-09"),
        ("year_week(yyyyMMdd)", MAR_1, "202609"),
        ("year_week(yy/MM/dd)", MAR_1, "26/09"),
        # DolphinScheduler's documented examples.
        ("year_week(yyyy-MM-dd)", at(2022, 8, 26), "2022-34"),
        ("year_week(yyyy-MM-dd,5)", at(2022, 8, 26), "2022-35"),
        ("month_first_day(yyyy-MM-dd,-1)", at(2022, 8, 26), "2022-07-01"),
        ("month_last_day(yyyy-MM-dd,-1)", at(2022, 8, 28), "2022-07-31"),
        ("week_first_day(yyyy-MM-dd,-1)", at(2022, 8, 26), "2022-08-15"),
        ("week_last_day(yyyy-MM-dd,-1)", at(2022, 8, 26), "2022-08-21"),
        # ISO weeks belong to the week's year at year boundaries.
        ("year_week(yyyy-MM-dd)", at(2024, 12, 31), "2025-01"),
        ("year_week(yyyy-MM-dd)", at(2021, 1, 1), "2020-53"),
        ("year_week(yyyy-MM-dd,7)", at(2026, 1, 3), "2025-53"),
        ("month_first_day(yyyy-MM-dd,-1)", MAR_1, "2026-02-01"),
        ("month_last_day(yyyy-MM-dd,-1)", MAR_1, "2026-02-28"),
        ("month_last_day(yyyy-MM-dd,0)", at(2024, 2, 10), "2024-02-29"),
        ("month_last_day(yyyy-MM-dd)", at(2026, 4, 30), "2026-04-30"),
        ("month_first_day(yyyy-MM-dd,1)", at(2026, 12, 15), "2027-01-01"),
        ("month_last_day(yyyy-MM-dd,-1)", at(2026, 3, 31), "2026-02-28"),
        # Weeks start on Monday: Sunday 2026-03-01 is the last day of its week.
        ("week_first_day(yyyy-MM-dd,0)", MAR_1, "2026-02-23"),
        ("week_last_day(yyyy-MM-dd,0)", MAR_1, "2026-03-01"),
        ("week_first_day(yyyyMMdd)", at(2026, 3, 2), "20260302"),
        ("week_last_day(yyyy-MM-dd,1)", at(2026, 3, 2), "2026-03-15"),
    ],
)
def test_functions(expr: str, when: datetime, expected: str) -> None:
    assert eval_date_expr(expr, when) == expected


def test_dates_use_the_logical_dates_own_timezone() -> None:
    assert eval_date_expr("yyyyMMdd-1", MAR_1) == "20260228"
    assert eval_date_expr("yyyyMMdd", MAR_1.astimezone(ZoneInfo("UTC"))) == "20260228"


def test_whole_days_keep_wall_clock_time_across_dst() -> None:
    after_change = datetime(2026, 3, 9, 12, 0, tzinfo=NEW_YORK)  # DST began 2026-03-08 02:00
    assert eval_date_expr("yyyyMMddHHmmss-1", after_change) == "20260308120000"
    assert eval_date_expr("yyyyMMddHHmmss-2", after_change) == "20260307120000"


def test_hours_move_the_instant_across_dst() -> None:
    just_after = datetime(2026, 3, 8, 3, 30, tzinfo=NEW_YORK)  # 02:00-03:00 does not exist
    assert eval_date_expr("yyyyMMddHHmmss-1/24", just_after) == "20260308013000"
    assert eval_date_expr("HHmm+1/24/60", just_after) == "0331"


@pytest.mark.parametrize(
    "expr",
    [
        "",
        "   ",
        "-1",
        "-/",
        "yyyyMMDD",
        "yyyymmdd x",
        "YYYY-MM-dd",
        "yyyyMMdd+",
        "yyyyMMdd+1+2",
        "yyyyMMdd+1.5",
        "yyyyMMdd+1/0",
        "next_day(yyyyMMdd)",
        "add_months(yyyyMMdd)",
        "add_months(yyyyMMdd,1/24)",
        "add_months(yyyyMMdd,-1",
        "add_months(,1)",
        "this_day(yyyyMMdd,1)",
        "last_day(yyyyMMdd,-1)",
        "year_week(yyyy-MM-dd,0)",
        "year_week(yyyy-MM-dd,8)",
        "${fmt}",
    ],
)
def test_malformed_expressions_are_rejected_naming_them(expr: str) -> None:
    with pytest.raises(ParamError) as info:
        check_date_expr(expr)
    assert f"$[{expr.strip()}]" in str(info.value)
    assert "add_months(yyyyMMdd,N)" in str(info.value)  # the supported forms are listed


def test_a_reference_may_stand_for_a_number() -> None:
    check_date_expr("yyyyMMdd-${lag}")
    check_date_expr("add_months(yyyyMMdd, -${months})")


def test_eval_rejects_malformed_expressions_too() -> None:
    with pytest.raises(ParamError, match="unknown function `next_day`"):
        eval_date_expr("next_day(yyyyMMdd)", MAR_1)


def test_out_of_range_result_is_a_param_error() -> None:
    with pytest.raises(ParamError, match="out of range"):
        eval_date_expr("yyyyMMdd+99999999", MAR_1)
    with pytest.raises(ParamError, match="out of range"):
        eval_date_expr("add_months(yyyyMMdd,-99999)", MAR_1)
