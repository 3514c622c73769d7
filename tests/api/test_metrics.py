"""`GET /metrics` on SQLite and PostgreSQL: the numbers read from the database are exactly the
runs and task runs a test made, request latency is counted per route template, and the route
needs a token unless SHOAL_METRICS_PUBLIC opens it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from shoal.api.app import create_app
from shoal.api.metrics import DURATION_BUCKETS, LAG_BUCKETS
from shoal.config import Settings, get_settings
from shoal.engine.states import TASK_TERMINAL, RunState, TaskRunState
from shoal.engine.transitions import move_run, move_tasks
from shoal.errors import InvalidInput
from shoal.services import metrics as metric_service
from shoal.services import runs as run_service
from shoal.services import users
from shoal.store import Store, utcnow
from shoal.store.models import task_runs
from tests.api.conftest import error_of
from tests.conftest import add_team
from tests.engine.stepping import Stepper

S, R = TaskRunState, RunState
Call = Callable[..., Any]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

OK = "outputs = {'n': 1}"
FAIL = "raise RuntimeError('boom')"


def _task(name: str, script: str, upstream: str = "") -> str:
    return f"  - {{name: {name}, type: python, script: \"{script}\"{', upstream: ' + upstream if upstream else ''}}}\n"


def client_for(store: Store) -> Call:
    client = TestClient(create_app(store))

    def call(method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return client.request(method, path, headers=headers, **kwargs)

    return call


def parse(text: str) -> Samples:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(call: Call, token: str | None) -> Samples:
    response = call("GET", "/metrics", token)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def series(samples: Samples, name: str, **labels: str) -> dict[str, float]:
    """{le: cumulative count} of a histogram's buckets with these labels."""
    found = {dict(k[1])["le"]: v for k, v in samples.items()
             if k[0] == f"{name}_bucket" and labels.items() <= dict(k[1]).items()}
    assert found, f"no {name} buckets with {labels}"
    return found


@pytest.fixture
def team(store: Store) -> dict[str, str]:
    """Tokens of add_team's users: root (instance admin) and carol (in no project)."""
    add_team(store)
    return {u: users.create_token(store, u).token for u in ("root", "carol")}


@dataclasses.dataclass
class History:
    etl_runs: tuple[int, int]  # ended in success
    wide_runs: tuple[int, int, int]  # queued, running, paused


@pytest.fixture
def history(store: Store, tmp_path: Path) -> History:
    """Runs in known states, on two projects:

    - fraud/etl: two runs of a -> b, driven to success on the in-process executor (4 task runs
      that started and ended);
    - default/flaky: a fails, b is upstream_failed, the run failed (a started and ended);
    - default/wide (x, y, z independent), states set with the engine's own moves: one run left
      queued; one running with x, y queued (the queue) and z running, 0.3 s after it was ready;
      one paused with x queued (not in the queue: its run is paused), y ended in success after
      waiting 42 s and running 90 s, z pending.
    """
    workdir = tmp_path / "wf"
    workdir.mkdir()
    stepper = Stepper(store, workdir)
    try:
        etl = stepper.apply("name: etl\nproject: fraud\ntasks:\n" + _task("a", OK) + _task("b", OK, "[a]"))
        etl_runs = (stepper.trigger(etl, project="fraud"), stepper.trigger(etl, project="fraud"))
        assert [stepper.finish(run_id).state for run_id in etl_runs] == ["success", "success"]
        flaky = stepper.apply("name: flaky\ntasks:\n" + _task("a", FAIL) + _task("b", OK, "[a]"))
        assert stepper.finish(stepper.trigger(flaky)).state == "failed"
        wide = stepper.apply("name: wide\ntasks:\n" + _task("x", OK) + _task("y", OK) + _task("z", OK))
    finally:
        stepper.close()
    left, running, paused = (run_service.trigger(store, wide).id for _ in range(3))
    t0 = utcnow().replace(microsecond=0) - timedelta(hours=1)
    ids = {(run_id, t.task): t.id for run_id in (running, paused) for t in run_service.show(store, run_id).tasks}
    with store.engine.begin() as conn:
        for run_id in (running, paused):
            assert move_run(conn, run_id, [R.QUEUED], R.RUNNING, started_at=t0)
        assert move_tasks(conn, [ids[running, n] for n in "xyz"], [S.PENDING], S.QUEUED, queued_at=t0) == 3
        assert move_tasks(conn, [ids[running, "z"]], [S.QUEUED], S.RUNNING, attempt=1,
                          started_at=t0 + timedelta(seconds=0.3))
        assert move_tasks(conn, [ids[paused, n] for n in "xy"], [S.PENDING], S.QUEUED, queued_at=t0) == 2
        assert move_tasks(conn, [ids[paused, "y"]], [S.QUEUED], S.RUNNING, attempt=1,
                          started_at=t0 + timedelta(seconds=42))
        assert move_tasks(conn, [ids[paused, "y"]], [S.RUNNING], S.SUCCESS, duration=90.0,
                          ended_at=t0 + timedelta(seconds=132))
        assert move_run(conn, paused, [R.RUNNING], R.PAUSED)
    return History(etl_runs=etl_runs, wide_runs=(left, running, paused))


def states(**counts: int) -> dict[str, int]:
    return {**dict.fromkeys(map(str, TaskRunState), 0), **counts}


def test_runs_task_runs_and_the_queue_are_what_the_database_holds(
    store: Store, team: dict[str, str], history: History,
) -> None:
    samples = scrape(client_for(store), team["root"])
    runs_of = {(p, w): {s: value(samples, "shoal_runs", project=p, workflow=w, state=s) for s in map(str, RunState)}
               for p, w in (("fraud", "etl"), ("default", "flaky"), ("default", "wide"))}
    zero = dict.fromkeys(map(str, RunState), 0)
    assert runs_of == {
        ("fraud", "etl"): {**zero, "success": 2},
        ("default", "flaky"): {**zero, "failed": 1},
        ("default", "wide"): {**zero, "queued": 1, "running": 1, "paused": 1},
    }
    tasks_of = {(p, w): {s: value(samples, "shoal_task_runs", project=p, workflow=w, state=s)
                         for s in map(str, TaskRunState)}
                for p, w in (("fraud", "etl"), ("default", "flaky"), ("default", "wide"))}
    assert tasks_of == {
        ("fraud", "etl"): states(success=4),
        ("default", "flaky"): states(failed=1, upstream_failed=1),
        ("default", "wide"): states(pending=3 + 1, queued=2 + 1, running=1, success=1),
    }
    assert {k for k in samples if k[0] == "shoal_runs"} == {  # every workflow, every state, nothing else
        ("shoal_runs", frozenset({"project": p, "workflow": w, "state": s}.items()))
        for p, w in runs_of for s in map(str, RunState)
    }
    assert value(samples, "shoal_queue_depth") == 2  # the running run's x and y; not the paused run's x


def test_scheduler_lag_and_task_durations_count_every_started_and_ended_task_run(
    store: Store, team: dict[str, str], history: History,
) -> None:
    samples = scrape(client_for(store), team["root"])
    with store.engine.connect() as conn:  # the expectation, from the rows (the scrape aggregates in SQL)
        rows = conn.execute(select(task_runs)).all()
    started = [r for r in rows if r.started_at is not None]
    lags = [(r.started_at - r.queued_at).total_seconds() for r in started]
    assert len(started) == 4 + 1 + 2  # etl's four, flaky's a, wide's running z and ended y
    assert sorted(lags)[-2:] == [0.3, 42.0]  # the hand-made waits; the driven ones waited ~nothing
    lag = series(samples, "shoal_scheduler_lag_seconds")
    assert lag == {**{str(float(b)): sum(x <= b for x in lags) for b in LAG_BUCKETS}, "+Inf": len(started)}
    assert lag["30.0"] == len(started) - 1 and lag["60.0"] == len(started)
    assert value(samples, "shoal_scheduler_lag_seconds_count") == 7
    assert value(samples, "shoal_scheduler_lag_seconds_sum") == pytest.approx(sum(lags), abs=1e-3)

    ended = [r for r in rows if r.state in TASK_TERMINAL and r.duration is not None]
    assert len(ended) == 4 + 1 + 1  # upstream_failed b never ran; running z has not ended
    for (project, workflow), n in {("fraud", "etl"): 4, ("default", "flaky"): 1, ("default", "wide"): 1}.items():
        assert value(samples, "shoal_task_duration_seconds_count", project=project, workflow=workflow) == n
    wide = series(samples, "shoal_task_duration_seconds", project="default", workflow="wide")
    assert (wide["60.0"], wide["120.0"], wide["+Inf"]) == (0, 1, 1)
    assert value(samples, "shoal_task_duration_seconds_sum", project="default", workflow="wide") == 90.0
    etl = series(samples, "shoal_task_duration_seconds", project="fraud", workflow="etl")
    etl_durations = [r.duration for r in ended if r.run_id in history.etl_runs]
    assert etl == {**{str(float(b)): sum(d <= b for d in etl_durations) for b in DURATION_BUCKETS}, "+Inf": 4}


def test_a_workflow_without_runs_shows_zeros(store: Store, team: dict[str, str], tmp_path: Path) -> None:
    from shoal.services import workflows

    path = tmp_path / "idle.yaml"
    path.write_text("name: idle\ntasks: [{name: a, type: shell, command: 'true'}]\n")
    workflows.apply_path(store, path)
    samples = scrape(client_for(store), team["root"])
    assert [value(samples, "shoal_runs", project="default", workflow="idle", state=s) for s in map(str, RunState)] \
        == [0] * len(RunState)
    assert value(samples, "shoal_task_duration_seconds_count", project="default", workflow="idle") == 0
    assert value(samples, "shoal_scheduler_lag_seconds_count") == 0 and value(samples, "shoal_queue_depth") == 0


def test_request_latency_is_counted_per_route_template(store: Store, team: dict[str, str]) -> None:
    call = client_for(store)
    for _ in range(2):
        assert call("GET", "/api/v1/runs", team["root"]).status_code == 200
    for project, run_id in (("fraud", 1), ("fraud", 2), ("default", 7)):
        assert call("GET", f"/api/v1/projects/{project}/runs/{run_id}", team["root"]).status_code == 404
    assert call("GET", "/api/v1/runs").status_code == 401
    for path in ("/nope", "/etc/passwd"):  # the web UI's own routes: its page answers (pages.py)
        assert call("GET", path).status_code == 200
    assert call("GET", "/api/v1/projects/fraud/nothing/here").status_code == 404
    assert call("POST", "/api/v1/nothing").status_code == 404
    assert call("DELETE", "/api/v1/runs", team["root"]).status_code == 405
    assert call("BREW", "/health").status_code == 405  # an unknown method is one label value too
    scrape(call, team["root"])  # scrapes are not counted: they would swamp the counts
    samples = scrape(call, team["root"])

    counts = {(dict(k[1])["method"], dict(k[1])["route"], dict(k[1])["status"]): v
              for k, v in samples.items() if k[0] == "shoal_api_request_duration_seconds_count"}
    assert counts == {
        ("GET", "/api/v1/runs", "200"): 2,
        ("GET", "/api/v1/projects/{project}/runs/{run_id}", "404"): 3,
        ("GET", "/api/v1/runs", "401"): 1,
        ("GET", "/{path}", "200"): 2,
        ("GET", "unmatched", "404"): 1,
        ("POST", "unmatched", "404"): 1,
        ("DELETE", "/api/v1/runs", "405"): 1,
        ("other", "/health", "405"): 1,
    }
    buckets = series(samples, "shoal_api_request_duration_seconds", method="GET", route="/api/v1/runs", status="200")
    assert buckets["+Inf"] == 2 and all(0 <= n <= 2 for n in buckets.values())
    assert value(samples, "shoal_api_request_duration_seconds_sum", method="GET", route="/api/v1/runs",
                 status="200") > 0


def test_a_request_that_raises_counts_as_500_and_a_mount_as_its_prefix(store: Store, team: dict[str, str]) -> None:
    from starlette.routing import Mount

    app = create_app(store)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/broken/{part}", broken)
    # Before the web UI's catch-all route (shoal/api/pages.py), as create_app's own routes are.
    app.router.routes.insert(0, app.router.routes.pop())
    app.router.routes.insert(0, Mount("/static", app=lambda scope, receive, send: _plain(send)))
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/api/v1/broken/x").status_code == 500
    assert client.get("/static/a/b.js").status_code == 200
    samples = parse(client.get("/metrics", headers={"Authorization": f"Bearer {team['root']}"}).text)
    assert value(samples, "shoal_api_request_duration_seconds_count", method="GET", route="/api/v1/broken/{part}",
                 status="500") == 1
    assert value(samples, "shoal_api_request_duration_seconds_count", method="GET", route="/static/{path}",
                 status="200") == 1


async def _plain(send: Callable[[dict[str, Any]], Any]) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def test_each_app_has_its_own_registry(store: Store, team: dict[str, str]) -> None:
    first, second = client_for(store), client_for(store)
    assert first("GET", "/health").status_code == 200
    counted = [k for k in scrape(second, team["root"]) if k[0] == "shoal_api_request_duration_seconds_count"]
    assert counted == []
    assert [k for k in scrape(first, team["root"]) if k[0] == "shoal_api_request_duration_seconds_count"]


def test_metrics_need_a_token(store: Store, team: dict[str, str]) -> None:
    call = client_for(store)
    missing = call("GET", "/metrics")
    err = error_of(missing, 401)
    assert err["code"] == "unauthorized" and "Bearer" in err["message"]
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert "unknown token" in error_of(call("GET", "/metrics", "shoal_nope"), 401)["message"]
    revoked = users.create_token(store, "root")
    users.revoke_token(store, revoked.info.id)
    error_of(call("GET", "/metrics", revoked.token), 401)
    # A project's member would read every project's workflow names: an instance admin only.
    assert "instance admin" in error_of(call("GET", "/metrics", team["carol"]), 403)["message"]


def test_shoal_metrics_public_opens_metrics_and_nothing_else(
    store: Store, team: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOAL_METRICS_PUBLIC", "true")
    settings = Settings(home=store.settings.home, db_url=store.settings.db_url)  # as `shoal api` reads them
    assert settings.metrics_public is True
    call = client_for(dataclasses.replace(store, settings=settings))
    samples = scrape(call, None)
    assert value(samples, "shoal_queue_depth") == 0
    scrape(call, team["root"])  # a token is fine too
    error_of(call("GET", "/api/v1/runs"), 401)
    monkeypatch.setenv("SHOAL_METRICS_PUBLIC", "maybe")
    with pytest.raises(InvalidInput, match="SHOAL_METRICS_PUBLIC='maybe'"):
        get_settings()


def test_a_database_that_does_not_answer_is_a_503_in_the_error_shape(
    store: Store, team: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    def away(_store: Store) -> int:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    call = client_for(store)
    monkeypatch.setattr(metric_service, "queue_depth", away)
    err = error_of(call("GET", "/metrics", team["root"]), 503)
    assert err["code"] == "store_unavailable" and "server closed the connection" in err["message"]


def test_alert_deliveries_by_event_channel_and_state(store: Store, team: dict[str, str]) -> None:
    from sqlalchemy import update

    from shoal.store.models import alert_deliveries
    from tests.alerts.conftest import a_run, pending

    run_id = a_run(store)
    pending(store, run_id, [("webhook", "https://hooks.example.com/x"), ("email", "a@example.com"),
                            ("email", "b@example.com")])
    with store.engine.begin() as conn:
        conn.execute(update(alert_deliveries).where(alert_deliveries.c.target == "a@example.com").values(state="sent"))
    samples = scrape(client_for(store), team["root"])
    got = {(d["event"], d["channel"], d["state"]): v for (name, labels), v in samples.items()
           if name == "shoal_alert_deliveries" for d in [dict(labels)]}
    assert got == {("failure", "email", "pending"): 1, ("failure", "email", "sent"): 1,
                   ("failure", "webhook", "pending"): 1}, got
