"""Run statistics over the API: a workflow's durations and success rate, runs per day, and the
sparklines' last runs of many workflows — from runs that really ran."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shoal.services import runs
from shoal.store import Store
from tests.api.conftest import Call, apply, error_of

FLAKY = ("name: flaky\nproject: fraud\nparams: {code: '0'}\n"
         "tasks:\n  - {name: a, type: shell, command: 'exit ${code}'}\n")
STATS = "/api/v1/projects/fraud/workflows/flaky/stats"


def test_stats_of_runs_that_ran(api: dict[str, Call], store: Store, executor: Any) -> None:
    assert api["alice"]("POST", "/api/v1/workflows", json={"content": FLAKY}).status_code == 201
    ids = []
    for code in ("0", "0", "3", "0"):
        r = api["alice"]("POST", "/api/v1/runs", json={"workflow": "flaky", "project": "fraud",
                                                       "params": {"code": code}})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    runs.wait(store, ids, timeout=120, executor=executor)

    got = api["bob"]("GET", STATS).json()  # a viewer reads them
    assert (got["project"], got["workflow"], got["last"]) == ("fraud", "flaky", 50)
    assert [p["id"] for p in got["runs"]] == ids
    assert [p["state"] for p in got["runs"]] == ["success", "success", "failed", "success"]
    assert all(p["duration"] is not None and p["duration"] >= 0 for p in got["runs"])
    assert set(got["runs"][0]) == {"id", "logical_date", "trigger", "state", "started_at", "ended_at", "duration"}
    summary = got["summary"]
    assert (summary["runs"], summary["finished"], summary["succeeded"], summary["success_rate"]) == (4, 4, 3, 0.75)
    ok = sorted(p["duration"] for p in got["runs"] if p["state"] == "success")
    assert (summary["p50"], summary["max"]) == (ok[1], ok[2])
    assert [p["id"] for p in api["bob"]("GET", STATS, params={"last": 2}).json()["runs"]] == ids[2:]

    today = datetime.now(UTC).date().isoformat()
    per_day = api["bob"]("GET", "/api/v1/stats/runs-per-day", params={"days": 7}).json()
    assert len(per_day["days"]) == 7 and per_day["until"] == today
    assert per_day["days"][-1]["counts"]["success"] == 3 and per_day["days"][-1]["counts"]["failed"] == 1
    assert sum(d["total"] for d in per_day["days"]) == 4

    recent = api["bob"]("GET", "/api/v1/stats/recent-runs",
                        params={"workflow": ["fraud/flaky", "fraud/gone"], "last": 3}).json()
    assert recent["missing"] == ["fraud/gone"]
    spark = recent["workflows"]["fraud/flaky"]
    assert [(r["id"], r["state"]) for r in spark] == [(ids[1], "success"), (ids[2], "failed"), (ids[3], "success")]
    by_id = {p["id"]: p["duration"] for p in got["runs"]}
    assert all(abs(r["duration"] - by_id[r["id"]]) < 0.01 for r in spark)


def test_stats_refuse_bad_asks_and_strangers(api: dict[str, Call]) -> None:
    apply(api["alice"], "w", "fraud")
    for params, field in (({"last": 0}, "query.last"), ({"last": 1001}, "query.last")):
        assert error_of(api["bob"]("GET", "/api/v1/projects/fraud/workflows/w/stats", params=params),
                        422)["details"]["problems"][0]["field"] == field
    for days in (0, 367, "week"):
        error_of(api["bob"]("GET", "/api/v1/stats/runs-per-day", params={"days": days}), 422)
    assert "query.workflow" in error_of(api["bob"]("GET", "/api/v1/stats/recent-runs"), 422)["message"]
    bad = error_of(api["bob"]("GET", "/api/v1/stats/recent-runs", params={"workflow": "w"}), 422)
    assert bad["details"]["field"] == "workflow" and "project/name" in bad["message"]
    too_many = {"workflow": [f"fraud/w{i}" for i in range(101)]}
    error_of(api["bob"]("GET", "/api/v1/stats/recent-runs", params=too_many), 422)
    error_of(api["bob"]("GET", "/api/v1/stats/recent-runs", params={"workflow": "fraud/w", "last": 101}), 422)

    assert "not found" in error_of(api["bob"]("GET", "/api/v1/projects/fraud/workflows/nope/stats"), 404)["message"]
    error_of(api["bob"]("GET", "/api/v1/stats/runs-per-day", params={"workflow": "nope"}), 404)
    error_of(api["carol"]("GET", "/api/v1/projects/fraud/workflows/w/stats"), 403)
    error_of(api["carol"]("GET", "/api/v1/stats/runs-per-day", params={"project": "fraud"}), 403)
    error_of(api["carol"]("GET", "/api/v1/stats/recent-runs", params={"workflow": "fraud/w"}), 403)
    error_of(api["anon"]("GET", "/api/v1/stats/runs-per-day"), 401)
    # Someone in no project reads an empty chart, not an error.
    empty = api["carol"]("GET", "/api/v1/stats/runs-per-day", params={"days": 2}).json()
    assert [d["total"] for d in empty["days"]] == [0, 0]
