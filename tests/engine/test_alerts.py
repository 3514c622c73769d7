"""The alerts a run's moves record, stepped by hand on the in-process executor with a fake clock
(no task process, no sleep, nothing sent: the outbox rows are what the engine owes). On SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from shoal.engine import alerts
from shoal.engine.runtime import ActiveRun
from shoal.engine.states import RunState
from shoal.engine.transitions import DeferredWrites, after_moves, move_run
from shoal.services import alerts as alert_service
from shoal.store import Store, utcnow
from shoal.store.models import alert_deliveries
from tests.engine.stepping import Stepper

HOOK = "https://hooks.example.com/shoal/T0K3N"
FAIL = "raise RuntimeError('boom')"


def _workflow(name: str, tasks: str, alert_rules: str | None = None, head: str = "") -> str:
    rules = f"alerts:\n{alert_rules}" if alert_rules is not None else ""
    return f"name: {name}\n{head}{rules}tasks:\n{tasks}"


def _python(name: str, script: str = "outputs = {}", **extra: object) -> str:
    fields = "".join(f", {k}: {v}" for k, v in extra.items())
    return f"  - {{name: {name}, type: python, script: \"{script}\"{fields}}}\n"


WAIT = "  - {name: wait, type: dependent, workflow: never, poll_interval: 10m, timeout: 1h, retries: 1}\n"


def deliveries(store: Store, run_id: int | None = None) -> list[Any]:
    q = select(alert_deliveries).order_by(alert_deliveries.c.id)
    if run_id is not None:
        q = q.where(alert_deliveries.c.run_id == run_id)
    with store.engine.connect() as conn:
        return list(conn.execute(q).all())


@pytest.fixture
def second(store: Store, workdir: Any) -> Iterator[Stepper]:
    """Another driver on the same database, for takeovers."""
    s = Stepper(store, workdir)
    yield s
    s.close()


def test_a_failed_run_records_one_delivery_per_target_with_its_failed_tasks(stepper: Stepper) -> None:
    name = stepper.apply(_workflow("fails", _python("a", FAIL) + _python("b", upstream="[a]"),
                                   f"  - on: [failure]\n    webhook: {HOOK}\n"
                                   "    email: [a@example.com, b@example.com]\n"
                                   "  - on: [success]\n    webhook: https://other.example.com/x\n"))
    run_id = stepper.trigger(name)
    info = stepper.finish(run_id)
    assert info.state == "failed"
    rows = deliveries(stepper.store, run_id)
    assert sorted((r.event, r.channel, r.target, r.state) for r in rows) == [
        ("failure", "email", "a@example.com", "pending"), ("failure", "email", "b@example.com", "pending"),
        ("failure", "webhook", HOOK, "pending")]
    body = rows[0].payload
    assert {k: body[k] for k in ("event", "project", "workflow", "failed_task_count")} == {
        "event": "failure", "project": "default", "workflow": "fails", "failed_task_count": 1}
    assert body["run"]["id"] == run_id and body["run"]["state"] == "failed" and body["run"]["trigger"] == "manual"
    assert body["run"]["ended_at"] and body["run"]["duration"] is not None
    [failed] = body["failed_tasks"]
    assert (failed["name"], failed["state"], failed["attempt"]) == ("a", "failed", 1) and "boom" in failed["error"]
    assert body["link"] == f"http://127.0.0.1:8000/api/v1/projects/default/runs/{run_id}"


def test_a_success_is_told_only_to_rules_that_ask_for_it(stepper: Stepper) -> None:
    name = stepper.apply(_workflow("works", _python("a"), f"  - on: [failure, retry]\n    webhook: {HOOK}\n"))
    assert stepper.finish(stepper.trigger(name)).state == "success"
    assert deliveries(stepper.store) == []
    told = stepper.apply(_workflow("told", _python("a"), f"  - on: success\n    webhook: {HOOK}\n"))
    run_id = stepper.trigger(told)
    stepper.finish(run_id)
    assert [(r.event, r.payload["run"]["state"], r.payload["failed_tasks"]) for r in deliveries(stepper.store)] == [
        ("success", "success", [])]


def test_each_retry_is_told_once_with_the_attempt_and_its_error(stepper: Stepper) -> None:
    name = stepper.apply(_workflow("flaky", _python("a", FAIL, retries=2),
                                   f"  - on: [retry, failure]\n    webhook: {HOOK}\n"))
    run_id = stepper.trigger(name)
    assert stepper.finish(run_id).state == "failed"
    rows = deliveries(stepper.store, run_id)
    assert [(r.event, r.task_name, r.payload.get("task", {}).get("attempt")) for r in rows] == [
        ("retry", "a", 1), ("retry", "a", 2), ("failure", None, None)]
    assert rows[0].payload["task"]["state"] == "retrying" and "boom" in rows[0].payload["task"]["error"]
    assert rows[0].payload["run"]["state"] == "running"


def test_a_timeout_is_told_for_each_attempt_it_cuts_off(stepper: Stepper) -> None:
    name = stepper.apply(_workflow("waits", WAIT, "  - on: [timeout]\n    email: oncall@example.com\n"))
    run_id = stepper.trigger(name)
    for _ in range(2):
        stepper.step_until(lambda: stepper.states(run_id)["wait"] == "running", "the wait starting")
        stepper.clock.advance(3600)
        stepper.step(2)
    assert stepper.finish(run_id).state == "failed"
    rows = deliveries(stepper.store, run_id)
    assert [(r.event, r.task_name, r.payload["task"]["attempt"], r.payload["task"]["state"]) for r in rows] == [
        ("timeout", "wait", 1, "retrying"), ("timeout", "wait", 2, "failed")]
    assert "timed out" in rows[0].payload["task"]["error"]


def test_a_workflow_without_rules_follows_its_project_and_alerts_empty_opts_out(stepper: Stepper) -> None:
    store = stepper.store
    project_rules = [{"on": ["failure"], "email": ["team@example.com"]}]
    inherits = stepper.apply(_workflow("inherits", _python("a", FAIL)))
    own = stepper.apply(_workflow("own", _python("a", FAIL), f"  - on: [failure]\n    webhook: {HOOK}\n"))
    silent = stepper.apply(_workflow("silent", _python("a", FAIL), head="alerts: []\n"))
    alert_service.set_project_alerts(store, "default", project_rules)
    runs = {name: stepper.trigger(name) for name in (inherits, own, silent)}
    for run_id in runs.values():
        stepper.finish(run_id)
    told = {name: [(r.channel, r.target) for r in deliveries(store, run_id)] for name, run_id in runs.items()}
    assert told == {"inherits": [("email", "team@example.com")], "own": [("webhook", HOOK)], "silent": []}


def test_long_running_is_told_once_per_rule_even_across_a_takeover(stepper: Stepper, second: Stepper) -> None:
    name = stepper.apply(_workflow("slow", WAIT, f"  - on: [long_running]\n    after: 30m\n    webhook: {HOOK}\n"
                                   "  - on: [long_running]\n    after: 50m\n    email: oncall@example.com\n"))
    run_id = stepper.trigger(name)
    stepper.step_until(lambda: stepper.states(run_id)["wait"] == "running", "the wait starting")
    stepper.clock.advance(29 * 60)
    stepper.step(3)
    assert deliveries(stepper.store) == []
    stepper.clock.advance(2 * 60)
    stepper.step(3)
    [row] = deliveries(stepper.store)
    assert (row.event, row.channel, row.payload["after"]) == ("long_running", "webhook", 1800.0)
    assert row.payload["running_for"] >= 1800 and row.payload["run"]["state"] == "running"
    stepper.step(3)
    assert len(deliveries(stepper.store)) == 1  # once, not on every sync
    # The driver goes away; another takes the run over and checks it again: still once.
    stepper.driver.drain(0.0)
    second.clock.current = stepper.clock.current
    second.watch([run_id])
    second.step(3)
    assert [r.event for r in deliveries(stepper.store)] == ["long_running"]
    second.clock.advance(20 * 60)  # past the second rule's 50 minutes
    second.step(3)
    assert sorted(r.channel for r in deliveries(stepper.store)) == ["email", "webhook"]


def test_a_replayed_run_end_is_recorded_once(stepper: Stepper) -> None:
    name = stepper.apply(_workflow("ends", _python("a"), f"  - on: [success]\n    webhook: {HOOK}\n"))
    run_id = stepper.trigger(name)
    stepper.finish(run_id)
    [row] = deliveries(stepper.store)
    # A driver that crashed after its commit replays nothing (the guarded move finds the run
    # ended); one that replays the same event anyway writes nothing either: the key is unique.
    run = _loaded(stepper, run_id)
    with stepper.store.engine.begin() as conn:
        alerts.run_ended(conn, run, RunState.SUCCESS, row.created_at)
    assert len(deliveries(stepper.store)) == 1


def test_alerts_of_a_move_whose_guard_fails_are_not_written(stepper: Stepper) -> None:
    name = stepper.apply(_workflow("stopped", _python("a"), f"  - on: [success]\n    webhook: {HOOK}\n"))
    run_id = stepper.trigger(name)
    stepper.finish(run_id)
    run = _loaded(stepper, run_id)
    writes = DeferredWrites()
    # The run already ended: this move's guard fails, so the delivery recorded with it is not written.
    assert move_run(writes, run_id, [RunState.RUNNING], RunState.SUCCESS)
    after_moves(writes, lambda conn: alerts.run_ended(conn, run, RunState.SUCCESS, utcnow()))
    with stepper.store.engine.begin() as conn:
        assert writes.apply(conn) is False
    assert len(deliveries(stepper.store)) == 1


def _loaded(stepper: Stepper, run_id: int) -> ActiveRun:
    """The run as a driver holds it in memory, with its rules."""
    from shoal.engine.runs import _load_run_row
    from shoal.engine.workflows import version_spec
    from shoal.store.models import task_runs

    with stepper.store.engine.connect() as conn:
        row = _load_run_row(conn, run_id)
        spec, source_dir = version_spec(conn, row.version_id)
        trows = conn.execute(select(task_runs).where(task_runs.c.run_id == run_id)).all()
    run = ActiveRun.from_rows(row, spec, source_dir, trows)
    alerts.arm(run, alerts.rules_for(spec, None), "http://x")
    return run
