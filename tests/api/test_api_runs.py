"""Runs over the API: a page at a time with filters, backfill, pause/resume, rerun and recover,
and a task run with its attempts and resolved params (secrets masked)."""

from __future__ import annotations

from typing import Any

from shoal.services import runs
from shoal.store import Store
from tests.api.conftest import Call, apply, error_of
from tests.api.test_api_workflows import pages

RUN = "/api/v1/projects/fraud/runs"


def start(call: Call, workflow: str = "w", **body: Any) -> int:
    r = call("POST", "/api/v1/runs", json={"workflow": workflow, "project": "fraud", **body})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_runs_a_page_at_a_time_with_filters(api: dict[str, Call]) -> None:
    apply(api["alice"], "w", "fraud")
    apply(api["alice"], "v", "fraud")
    apply(api["root"], "w", "default")
    ids = [start(api["alice"], "w", date=f"2026-01-0{d}") for d in range(1, 8)]
    other = start(api["alice"], "v", date="2026-01-03")
    api["root"]("POST", "/api/v1/runs", json={"workflow": "w"})  # default's: never in bob's pages
    got = pages(api["bob"], "/api/v1/runs", limit=3, workflow="w")
    assert [[r["id"] for r in page] for page in got] == [ids[6:3:-1], ids[3:0:-1], ids[:1]]
    assert [r["id"] for page in pages(api["bob"], "/api/v1/runs", limit=50) for r in page] == [other, *ids[::-1]]
    api["alice"]("POST", f"{RUN}/{ids[0]}/stop")
    stopped = api["bob"]("GET", "/api/v1/runs", params={"state": "stopped"}).json()["items"]
    assert [r["id"] for r in stopped] == [ids[0]]
    window = api["bob"]("GET", "/api/v1/runs", params={"since": "2026-01-03", "until": "2026-01-04"}).json()
    assert sorted(r["id"] for r in window["items"]) == sorted([ids[2], ids[3], other])
    assert api["bob"]("GET", "/api/v1/runs", params={"trigger": "backfill"}).json()["items"] == []
    assert error_of(api["bob"]("GET", "/api/v1/runs", params={"state": "done"}), 422)["details"]["field"] == "state"
    error_of(api["bob"]("GET", "/api/v1/runs", params={"trigger": "cron"}), 422)
    error_of(api["bob"]("GET", "/api/v1/runs", params={"since": "yesterday"}), 422)
    error_of(api["carol"]("GET", "/api/v1/runs", params={"project": "fraud"}), 403)


def test_backfill_a_date_range(api: dict[str, Call]) -> None:
    apply(api["alice"], "w", "fraud")
    body = {"workflow": "w", "project": "fraud", "start": "2026-02-01", "end": "2026-02-03", "order": "desc"}
    error_of(api["bob"]("POST", "/api/v1/backfills", json=body), 403)
    r = api["alice"]("POST", "/api/v1/backfills", json=body)
    assert r.status_code == 201, r.text
    run_ids = r.json()["run_ids"]
    assert len(run_ids) == 3
    listed = api["bob"]("GET", "/api/v1/runs", params={"trigger": "backfill"}).json()["items"]
    assert sorted(r["id"] for r in listed) == sorted(run_ids)
    assert {r["logical_date"][:10] for r in listed} == {"2026-02-01", "2026-02-02", "2026-02-03"}
    backwards = api["alice"]("POST", "/api/v1/backfills", json={**body, "start": "2026-02-05"})
    assert "before" in error_of(backwards, 422)["message"]
    error_of(api["alice"]("POST", "/api/v1/backfills", json={**body, "parallel": 0}), 422)
    assert len(api["bob"]("GET", "/api/v1/runs").json()["items"]) == 3  # the refused ones made nothing


def test_pause_resume_rerun_and_recover(api: dict[str, Call], store: Store, executor) -> None:  # type: ignore[no-untyped-def]
    wf = ("name: flaky\nproject: fraud\ntasks:\n  - {name: a, type: shell, command: 'true'}\n"
          "  - {name: b, type: shell, command: 'exit ${code}', upstream: [a]}\nparams: {code: '1'}\n")
    assert api["alice"]("POST", "/api/v1/workflows", json={"content": wf}).status_code == 201
    run_id = start(api["alice"], "flaky")
    assert "not running" in error_of(api["alice"]("POST", f"{RUN}/{run_id}/pause"), 409)["message"]
    assert "not paused" in error_of(api["alice"]("POST", f"{RUN}/{run_id}/resume"), 409)["message"]
    runs.wait(store, [run_id], timeout=60, executor=executor)
    assert api["bob"]("GET", f"{RUN}/{run_id}").json()["state"] == "failed"
    error_of(api["bob"]("POST", f"{RUN}/{run_id}/recover"), 403)
    assert api["alice"]("POST", f"{RUN}/{run_id}/recover").json() == {"run": run_id, "tasks": 1}
    runs.wait(store, [run_id], timeout=60, executor=executor)
    again = api["alice"]("POST", f"{RUN}/{run_id}/rerun", json={"from_task": "a"})
    assert again.json() == {"run": run_id, "tasks": 2}
    runs.wait(store, [run_id], timeout=60, executor=executor)
    tasks = {t["task"]: t for t in api["bob"]("GET", f"{RUN}/{run_id}").json()["tasks"]}
    assert (tasks["a"]["attempt"], tasks["b"]["attempt"]) == (2, 3)
    bad = api["alice"]("POST", f"{RUN}/{run_id}/rerun", json={"from_task": "nope"})
    assert "no task 'nope'" in error_of(bad, 422)["message"]
    error_of(api["alice"]("POST", f"{RUN}/{run_id}/rerun", json={}), 422)
    error_of(api["alice"]("POST", f"{RUN}/{run_id}/explode"), 422)


def test_a_task_run_with_its_attempts_and_resolved_params(api: dict[str, Call], store: Store, executor) -> None:  # type: ignore[no-untyped-def]
    wf = ("name: pass\nproject: fraud\nsecrets: [token]\nparams: {token: hunter22, day: '${ds}'}\ntasks:\n"
          "  - {name: a, type: shell, command: 'echo \"##shoal:set n=5\"'}\n"
          "  - {name: b, type: shell, command: 'echo ${a.n} ${token} ${day}', upstream: [a]}\n")
    assert api["alice"]("POST", "/api/v1/workflows", json={"content": wf}).status_code == 201
    run_id = start(api["alice"], "pass", date="2026-03-04")
    before = api["bob"]("GET", f"{RUN}/{run_id}/tasks/b").json()
    assert before["state"] == "pending" and before["attempts"] == [] and before["params"] is None
    assert "a" in before["params_error"], before
    runs.wait(store, [run_id], timeout=60, executor=executor)
    after = api["bob"]("GET", f"{RUN}/{run_id}/tasks/b").json()
    assert after["state"] == "success" and after["upstream"] == ["a"] and after["type"] == "shell"
    assert after["params"]["command"] == "echo ${a.n} ${token} ${day}"  # code stays as written
    assert after["values"] == {"${a.n}": "5", "${token}": "***", "${day}": "2026-03-04"}, after["values"]
    assert [a["attempt"] for a in after["attempts"]] == [1] and after["attempts"][0]["log_bytes"] > 0
    assert "hunter22" not in str(after) and after["params_error"] is None
    assert api["bob"]("GET", f"{RUN}/{run_id}/tasks/a").json()["outputs"] == {"n": "5"}
    error_of(api["bob"]("GET", f"{RUN}/{run_id}/tasks/nope"), 404)
    error_of(api["carol"]("GET", f"{RUN}/{run_id}/tasks/b"), 403)
