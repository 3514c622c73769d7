"""Schedules over the API: preview a cron's fire times (the scheduler's own clock, start, end
and catch-up), set or remove a workflow's schedule as a new version, restore an old version,
and a backfill's dry run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pydantic
import pytest

from shoal.engine.scheduler import tick_schedules
from shoal.engine.workflows import get_workflow
from shoal.spec.models import Schedule
from shoal.store import Store
from tests.api.conftest import Call, apply, error_of

BASE = "/api/v1/projects/fraud/workflows"
PREVIEW = "/api/v1/schedules/preview"
SECRET_WF = ("name: s\nproject: fraud\nsecrets: [token]\nparams: {token: hunter2, x: '1'}\n"
             "tasks: [{name: a, type: shell, command: 'echo ${x}'}]\n")


def model_message(**schedule: Any) -> str:
    """What the Schedule model itself says of `schedule` (the first problem)."""
    with pytest.raises(pydantic.ValidationError) as caught:
        Schedule.model_validate(schedule)
    return str(caught.value.errors()[0]["msg"]).removeprefix("Value error, ")


def test_preview_lists_the_next_fire_times_in_utc_and_in_the_schedules_zone(api: dict[str, Call]) -> None:
    body = {"cron": "30 2 * * *", "timezone": "Asia/Shanghai", "after": "2026-01-01T12:00:00Z"}
    r = api["bob"]("POST", PREVIEW, json=body)  # a viewer (any user) may preview
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["fire_times"] == [f"2026-01-{d:02d}T18:30:00+00:00" for d in range(1, 6)]
    assert got["local"] == [f"2026-01-{d:02d}T02:30:00+08:00" for d in range(2, 7)]
    assert got["catchup_runs"] == 0
    assert len(api["carol"]("POST", PREVIEW, json={**body, "count": 50}).json()["fire_times"]) == 50
    error_of(api["anon"]("POST", PREVIEW, json=body), 401)


def test_preview_honours_start_end_and_catch_up(api: dict[str, Call]) -> None:
    call = api["bob"]
    after = "2026-01-10T00:00:00"  # naive: UTC
    later = call("POST", PREVIEW, json={"cron": "0 6 * * *", "start": "2026-03-01", "after": after}).json()
    assert later["fire_times"][0] == "2026-03-01T06:00:00+00:00"  # not before start
    ended = call("POST", PREVIEW, json={"cron": "0 6 * * *", "end": "2026-01-12", "after": after}).json()
    assert ended["fire_times"] == [f"2026-01-{d}T06:00:00+00:00" for d in (10, 11, 12)]  # the end day included
    # Catch-up from a past start: the missed times come first, all at once, then the next ones.
    caught = call("POST", PREVIEW, json={"cron": "0 6 * * *", "start": "2026-01-07", "catchup": True,
                                         "after": after, "count": 5}).json()
    assert caught["catchup_runs"] == 3
    assert caught["fire_times"] == [f"2026-01-{d:02d}T06:00:00+00:00" for d in range(7, 12)]
    no_catchup = call("POST", PREVIEW, json={"cron": "0 6 * * *", "start": "2026-01-07", "after": after}).json()
    assert no_catchup["catchup_runs"] == 0 and no_catchup["fire_times"][0] == "2026-01-10T06:00:00+00:00"


@pytest.mark.parametrize(("body", "field"), [
    ({"cron": "61 * * * *"}, "cron"),
    ({"cron": "0 2 * * * *"}, "cron"),
    ({"cron": "0 2 * * *", "timezone": "Mars/Olympus"}, "timezone"),
    ({"cron": "0 2 * * *", "start": "2026-02-01", "end": "2026-01-01"}, "end"),
])
def test_a_bad_schedule_is_refused_with_the_models_message(api: dict[str, Call], body: dict[str, Any],
                                                           field: str) -> None:
    err = error_of(api["bob"]("POST", PREVIEW, json=body), 422)
    assert err["code"] == "invalid_input"
    assert err["details"]["problems"][0] == {"field": field, "message": model_message(**body)}
    assert err["details"]["field"] == field
    apply(api["alice"], "w", "fraud")
    put = error_of(api["alice"]("PUT", f"{BASE}/w/schedule", json=body), 422)
    assert put["details"]["problems"][0]["field"] == field
    assert [v["version"] for v in api["bob"]("GET", f"{BASE}/w/versions").json()] == [1]  # nothing stored


def test_preview_refuses_a_count_out_of_bounds(api: dict[str, Call]) -> None:
    for count in (0, 51):
        assert error_of(api["bob"]("POST", PREVIEW, json={"cron": "@daily", "count": count}), 422)["details"][
            "problems"][0]["field"] == "count"


def test_the_scheduler_fires_exactly_the_previewed_times(api: dict[str, Call], store: Store) -> None:
    apply(api["alice"], "w", "fraud")
    schedule = {"cron": "*/20 * * * *", "timezone": "Asia/Kolkata"}
    now = datetime.now(UTC)
    put = api["alice"]("PUT", f"{BASE}/w/schedule", json=schedule)
    assert put.status_code == 200, put.text
    preview = api["bob"]("POST", PREVIEW, json={**schedule, "count": 3, "after": now.isoformat()}).json()
    times = [datetime.fromisoformat(t) for t in preview["fire_times"]]
    assert datetime.fromisoformat(put.json()["schedule"]["next_fire_at"]).replace(tzinfo=UTC) == times[0]
    for t in times:  # each tick at a previewed time creates the run of that logical date
        assert len(tick_schedules(store, now=t)) == 1
    runs = api["bob"]("GET", "/api/v1/runs", params={"workflow": "w", "trigger": "schedule"}).json()["items"]
    assert sorted(datetime.fromisoformat(r["logical_date"]) for r in runs) == times


def test_set_a_schedule_stores_a_new_version_and_keeps_secrets(api: dict[str, Call], store: Store) -> None:
    assert api["alice"]("POST", "/api/v1/workflows", json={"content": SECRET_WF}).status_code == 201
    schedule = {"cron": "30 2 * * *", "timezone": "Asia/Shanghai", "start": "2026-01-01", "catchup": False}
    error_of(api["bob"]("PUT", f"{BASE}/s/schedule", json=schedule), 403)
    error_of(api["alice"]("PUT", f"{BASE}/nope/schedule", json=schedule), 404)
    r = api["alice"]("PUT", f"{BASE}/s/schedule", json=schedule)
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["version"], got["changed"]) == (2, True) and "version 2" in got["message"]
    assert got["schedule"]["cron"] == "30 2 * * *" and got["schedule"]["next_fire_at"]
    assert "hunter2" not in r.text
    stored = get_workflow(store, "s", project="fraud")
    assert stored.spec.params["token"] == "hunter2"  # kept as stored, though never shown
    assert stored.spec.schedule is not None and stored.spec.schedule.timezone == "Asia/Shanghai"
    shown = api["bob"]("GET", f"{BASE}/s").json()
    assert shown["definition"]["schedule"] == {"cron": "30 2 * * *", "timezone": "Asia/Shanghai",
                                               "start": "2026-01-01"}
    assert shown["definition"]["params"]["token"] == "***"

    again = api["alice"]("PUT", f"{BASE}/s/schedule", json=schedule).json()
    assert (again["version"], again["changed"]) == (2, False) and "unchanged" in again["message"]

    # A paused schedule stays paused when it is changed.
    api["alice"]("POST", f"{BASE}/s/schedule/pause")
    moved = api["alice"]("PUT", f"{BASE}/s/schedule", json={**schedule, "cron": "0 3 * * *"}).json()
    assert moved["version"] == 3 and moved["schedule"]["paused"] is True

    removed = api["alice"]("DELETE", f"{BASE}/s/schedule")
    assert removed.status_code == 200, removed.text
    assert (removed.json()["version"], removed.json()["schedule"]) == (4, None)
    assert api["bob"]("GET", f"{BASE}/s").json()["schedule"] is None
    assert api["alice"]("DELETE", f"{BASE}/s/schedule").json()["changed"] is False
    error_of(api["bob"]("DELETE", f"{BASE}/s/schedule"), 403)
    assert get_workflow(store, "s", project="fraud").spec.params["token"] == "hunter2"


def test_restore_an_old_version(api: dict[str, Call]) -> None:
    apply(api["alice"], "w", "fraud")
    api["alice"]("PUT", f"{BASE}/w/schedule", json={"cron": "@daily"})
    error_of(api["bob"]("POST", f"{BASE}/w/versions/1/restore"), 403)
    error_of(api["alice"]("POST", f"{BASE}/w/versions/9/restore"), 404)
    error_of(api["alice"]("POST", f"{BASE}/w/versions/0/restore"), 422)
    r = api["alice"]("POST", f"{BASE}/w/versions/1/restore")
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("version", "changed", "restored")} == {"version": 3, "changed": True,
                                                                           "restored": 1}
    assert api["bob"]("GET", f"{BASE}/w/diff", params={"old": 1, "new": 3}).json()["diff"] == ""
    assert "@daily" in api["bob"]("GET", f"{BASE}/w/diff", params={"old": 2, "new": 3}).json()["diff"]
    assert api["bob"]("GET", f"{BASE}/w").json()["schedule"] is None  # the schedule is part of the definition
    same = api["alice"]("POST", f"{BASE}/w/versions/3/restore").json()
    assert (same["version"], same["changed"]) == (3, False)


def test_a_backfill_dry_run_answers_its_dates_and_creates_nothing(api: dict[str, Call]) -> None:
    apply(api["alice"], "w", "fraud")
    body = {"workflow": "w", "project": "fraud", "start": "2026-02-01", "end": "2026-02-03", "order": "desc",
            "dry_run": True}
    error_of(api["bob"]("POST", "/api/v1/backfills", json=body), 403)
    r = api["alice"]("POST", "/api/v1/backfills", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["count"] == 3
    assert [d[:10] for d in r.json()["dates"]] == ["2026-02-03", "2026-02-02", "2026-02-01"]
    backwards = error_of(api["alice"]("POST", "/api/v1/backfills", json={**body, "start": "2026-02-05"}), 422)
    assert backwards["details"]["field"] == "end" and "before start" in backwards["message"]
    assert api["bob"]("GET", "/api/v1/runs").json()["items"] == []
    # The real one names the field at fault too: an unknown task to disable.
    bad = error_of(api["alice"]("POST", "/api/v1/backfills",
                                json={**body, "dry_run": False, "disable": ["nope"]}), 422)
    assert bad["details"]["field"] == "disable" and "nope" in bad["message"]
    assert api["bob"]("GET", "/api/v1/runs").json()["items"] == []
