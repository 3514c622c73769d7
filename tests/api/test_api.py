"""The REST API over the service layer, on SQLite and PostgreSQL: bearer tokens, the error
shape of every 4xx, and a user acting only in their own projects."""

from __future__ import annotations

import pytest

from shoal.store import Store
from tests.api.conftest import Call, apply, error_of


def test_health_needs_no_token_and_everything_else_does(api: dict[str, Call]) -> None:
    assert api["anon"]("GET", "/health").json()["status"] == "ok"
    err = error_of(api["anon"]("GET", "/api/v1/workflows"), 401)
    assert err["code"] == "unauthorized" and "Bearer" in err["message"]
    response = api["anon"]("GET", "/api/v1/runs", headers={"Authorization": "Bearer shoal_nope"})
    assert "unknown token" in error_of(response, 401)["message"]
    assert api["alice"]("GET", "/api/v1/whoami").json() == {"user": "alice", "roles": {"fraud": "editor"}}
    assert api["root"]("GET", "/api/v1/whoami").json() == {"user": "root", "roles": None}


def test_apply_list_show_a_workflow(api: dict[str, Call]) -> None:
    r = apply(api["alice"], "train", "fraud")
    assert r.status_code == 201, r.text
    assert [(x["name"], x["version"], x["changed"]) for x in r.json()] == [("train", 1, True)]
    assert apply(api["alice"], "train", "fraud").json()[0]["changed"] is False
    listed = api["bob"]("GET", "/api/v1/workflows").json()["items"]
    assert [(w["project"], w["name"]) for w in listed] == [("fraud", "train")]
    shown = api["bob"]("GET", "/api/v1/projects/fraud/workflows/train").json()
    assert shown["version"] == 1 and shown["definition"]["tasks"][0]["name"] == "a"


def test_a_bad_workflow_names_the_task_and_field_and_stores_nothing(api: dict[str, Call]) -> None:
    cyclic = ("name: cyc\nproject: fraud\ntasks:\n  - {name: a, type: shell, command: 'true', upstream: [b]}\n"
              "  - {name: b, type: shell, command: 'true', upstream: [a]}\n")
    err = error_of(api["alice"]("POST", "/api/v1/workflows", json={"content": cyclic}), 422)
    assert err["code"] == "spec_error" and "cycle" in err["message"] and err["details"]["problems"]
    bad_field = "name: w\nproject: fraud\ntasks: [{name: a, type: shell, command: 'true', retries: lots}]\n"
    problem = error_of(api["alice"]("POST", "/api/v1/workflows", json={"content": bad_field}), 422)["details"]
    assert (problem["problems"][0]["task"], problem["problems"][0]["field"]) == ("a", "retries")
    python = api["alice"]("POST", "/api/v1/workflows", json={"content": "print(1)", "format": "python"})
    assert error_of(python, 422)["details"]["problems"][0]["field"] == "format"
    missing = error_of(api["alice"]("POST", "/api/v1/workflows", json={}), 422)
    assert missing["code"] == "invalid_input" and missing["details"]["problems"][0]["field"] == "content"
    assert api["root"]("GET", "/api/v1/workflows").json() == {"items": [], "next_cursor": None}


def test_a_user_acts_only_in_their_projects(api: dict[str, Call]) -> None:
    assert apply(api["root"], "w", "default").status_code == 201
    assert apply(api["alice"], "w", "fraud").status_code == 201
    assert error_of(apply(api["alice"], "w2", "default"), 403)["code"] == "forbidden"
    assert error_of(apply(api["bob"], "w2", "fraud"), 403)["details"]["role"] == "editor"
    default_run = api["root"]("POST", "/api/v1/runs", json={"workflow": "w"}).json()["id"]
    started = api["alice"]("POST", "/api/v1/runs", json={"workflow": "w", "project": "fraud",
                                                         "params": {"x": "$(rm -rf /)"}})
    assert started.status_code == 201 and started.json()["state"] == "queued", started.text
    error_of(api["bob"]("POST", "/api/v1/runs", json={"workflow": "w", "project": "fraud"}), 403)
    for who in ("alice", "bob", "carol"):  # nobody outside `default` reaches its run, even by id
        error_of(api[who]("GET", f"/api/v1/projects/default/runs/{default_run}"), 403)
        error_of(api[who]("POST", f"/api/v1/projects/default/runs/{default_run}/stop"), 403)
        assert default_run not in [r["id"] for r in api[who]("GET", "/api/v1/runs").json()["items"]]
    error_of(api["alice"]("GET", f"/api/v1/projects/fraud/runs/{default_run}"), 404)  # not fraud's
    assert [r["project"] for r in api["bob"]("GET", "/api/v1/runs").json()["items"]] == ["fraud"]
    assert {r["project"] for r in api["root"]("GET", "/api/v1/runs").json()["items"]} == {"fraud", "default"}
    assert api["carol"]("GET", "/api/v1/workflows").json()["items"] == []


def test_stop_a_run_then_stopping_again_is_a_conflict(api: dict[str, Call]) -> None:
    apply(api["alice"], "w", "fraud")
    run_id = api["alice"]("POST", "/api/v1/runs", json={"workflow": "w", "project": "fraud"}).json()["id"]
    r = api["alice"]("POST", f"/api/v1/projects/fraud/runs/{run_id}/stop")
    assert r.status_code == 200 and r.json() == {"stopped": [run_id]}
    assert api["bob"]("GET", f"/api/v1/projects/fraud/runs/{run_id}").json()["state"] == "stopped"
    assert error_of(api["alice"]("POST", f"/api/v1/projects/fraud/runs/{run_id}/stop"), 409)["code"] == "conflict"


def test_a_body_that_is_not_json_says_so(api: dict[str, Call]) -> None:
    err = error_of(api["root"]("POST", "/api/v1/runs", content=b'{"workflow": "w",, }',
                               headers={"content-type": "application/json"}), 422)
    assert err["message"] == "body: not valid JSON (at character 17)", err


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/api/v1/nope", 404, "not_found"),
    ("DELETE", "/api/v1/runs", 405, "method_not_allowed"),
    ("GET", "/api/v1/runs?limit=0", 422, "invalid_input"),
    ("GET", "/api/v1/projects/fraud/runs/abc", 422, "invalid_input"),
    ("GET", "/api/v1/projects/fraud/runs/999", 404, "not_found"),
    ("GET", "/api/v1/projects/fraud/workflows/nope", 404, "not_found"),
    ("POST", "/api/v1/runs", 422, "invalid_input"),
])
def test_every_4xx_has_the_error_shape(api: dict[str, Call], method: str, path: str, status: int, code: str) -> None:
    kwargs = {"content": b"{not json", "headers": {"content-type": "application/json"}} if method == "POST" else {}
    assert error_of(api["root"](method, path, **kwargs), status)["code"] == code


def test_a_task_log_whole_and_by_byte_range(api: dict[str, Call], store: Store, executor) -> None:  # type: ignore[no-untyped-def]
    from shoal.services import runs

    wf = ("name: talk\nproject: fraud\nparams: {word: ''}\n"
          "tasks: [{name: a, type: shell, command: 'echo \"$W\"; echo done', env: {W: '${word}'}}]\n")
    assert api["alice"]("POST", "/api/v1/workflows", json={"content": wf}).status_code == 201
    run_id = api["alice"]("POST", "/api/v1/runs", json={"workflow": "talk", "project": "fraud",
                                                        "params": {"word": "$(id) héllo"}}).json()["id"]
    runs.wait(store, [run_id], timeout=60, executor=executor)
    path = f"/api/v1/projects/fraud/runs/{run_id}/tasks/a/log"
    whole = api["bob"]("GET", path)
    assert whole.status_code == 200 and "] $(id) héllo\n" in whole.text, whole.text  # the value, as text
    assert "] done\n" in whole.text and "exit code 0" in whole.text
    size = int(whole.headers["X-Shoal-Log-Size"])
    assert whole.headers["X-Shoal-Attempt"] == "1" and size == len(whole.content)
    tail = api["bob"]("GET", path, params={"offset": size - 5, "limit": 5})
    assert tail.content == whole.content[-5:] and tail.headers["Content-Range"] == f"bytes {size - 5}-{size - 1}/{size}"
    past = api["bob"]("GET", path, params={"offset": size + 10})
    assert past.content == b"" and past.headers["Content-Range"] == f"bytes */{size}"
    assert "no attempt 2" in error_of(api["bob"]("GET", path, params={"attempt": 2}), 422)["message"]
    error_of(api["bob"]("GET", f"/api/v1/projects/fraud/runs/{run_id}/tasks/nope/log"), 404)
    error_of(api["carol"]("GET", path), 403)
    error_of(api["bob"]("GET", path, params={"limit": 0}), 422)


def test_schedules_list_pause_and_resume(api: dict[str, Call]) -> None:
    wf = ("name: nightly\nproject: fraud\nschedule: {cron: '0 2 * * *'}\n"
          "tasks: [{name: a, type: shell, command: 'true'}]\n")
    assert api["alice"]("POST", "/api/v1/workflows", json={"content": wf}).status_code == 201
    listed = api["bob"]("GET", "/api/v1/schedules").json()
    assert [(s["workflow"], s["paused"]) for s in listed] == [("nightly", False)]
    error_of(api["bob"]("POST", "/api/v1/projects/fraud/workflows/nightly/schedule/pause"), 403)  # a viewer
    paused = api["alice"]("POST", "/api/v1/projects/fraud/workflows/nightly/schedule/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert error_of(api["alice"]("POST", "/api/v1/projects/fraud/workflows/nightly/schedule/pause"), 409)
    assert api["alice"]("POST", "/api/v1/projects/fraud/workflows/nightly/schedule/resume").json()["paused"] is False
    error_of(api["alice"]("POST", "/api/v1/projects/fraud/workflows/nightly/schedule/stop"), 422)
    assert api["carol"]("GET", "/api/v1/schedules").json() == []


def test_a_value_the_database_cannot_hold_is_bad_input(api: dict[str, Call]) -> None:
    apply(api["alice"], "w", "fraud")
    # A NUL character: PostgreSQL refuses it (422), SQLite looks it up and finds nothing.
    for path in ("/api/v1/projects/fra%00ud/workflows/w", "/api/v1/runs?workflow=w%00", "/api/v1/projects/x%00/runs/1"):
        r = api["root"]("GET", path)
        assert r.status_code in (200, 404, 422), (path, r.text)
        if r.status_code >= 400:
            error_of(r, r.status_code)
    r = api["alice"]("POST", "/api/v1/runs", json={"workflow": "w", "project": "fraud", "params": {"x": "a\u0000b"}})
    assert r.status_code in (201, 422), r.text


def test_cors_is_off_unless_origins_are_named(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from starlette.testclient import TestClient

    from shoal.api.app import create_app
    from shoal.config import Settings, get_settings
    from shoal.errors import InvalidInput

    preflight = {"Origin": "https://ui.example.com", "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "authorization"}
    closed = TestClient(create_app(store)).options("/api/v1/runs", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers
    monkeypatch.setenv("SHOAL_CORS_ORIGINS", "https://ui.example.com, http://localhost:5173")
    settings = Settings(home=store.settings.home, db_url=store.settings.db_url)
    client = TestClient(create_app(dataclasses.replace(store, settings=settings)))
    opened = client.options("/api/v1/runs", headers=preflight)
    assert opened.headers["access-control-allow-origin"] == "https://ui.example.com"
    other = client.options("/api/v1/runs", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    monkeypatch.setenv("SHOAL_CORS_ORIGINS", "ui.example.com")
    with pytest.raises(InvalidInput, match="SHOAL_CORS_ORIGINS.*not an origin"):
        get_settings()
