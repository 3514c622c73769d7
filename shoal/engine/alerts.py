"""The engine's side of alerts: which events a run raises, recorded with the move that raises them.

    failure, success  the run ended (`RunBook.finish`; a run that cannot even be loaded fails too)
    retry             an attempt failed and the task will be retried (`RunBook.end_attempt`)
    timeout           an attempt was cut off by its task's `timeout`, retried or not
    long_running      the run has been running longer than a rule's `after` (checked by the
                      driver that holds it, on its sync: once per run and rule)

A user's stop raises nothing: whoever stopped it knows.

Each event's deliveries are inserted in the transaction of the move itself (`after_moves`, which
also works on the driver's deferred writes), so an event is recorded exactly when its move
commits: a crash before the commit loses both, a replay after it finds the move done. The
payload is built here from the driver's memory (no query on the hot path); a run without rules
for an event costs one membership test.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, ParamSpec
from urllib.parse import quote

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from shoal.alerts import outbox
from shoal.alerts.outbox import RunFacts, TaskFacts
from shoal.engine.runtime import ActiveRun, TaskState
from shoal.engine.states import RunState, TaskRunState
from shoal.engine.transitions import Writer, after_moves
from shoal.spec.alerts import AlertRule, parse_rules
from shoal.spec.models import Workflow

S = TaskRunState
P = ParamSpec("P")
log = logging.getLogger(__name__)
RUN_END_EVENTS = {RunState.SUCCESS: "success", RunState.FAILED: "failure"}


def rules_for(spec: Workflow, project_default: Any) -> tuple[AlertRule, ...]:
    """A run's rules: its workflow's own `alerts`, else its project's default (stored data,
    checked when it was set; unreadable data means no default rather than a run that fails)."""
    if spec.alerts is not None:
        return tuple(spec.alerts)
    if not project_default:
        return ()
    try:
        return tuple(parse_rules(project_default))
    except ValueError:
        return ()


def run_link(public_url: str, project: str, run_id: int) -> str:
    """Where a person reads the run: `{SHOAL_PUBLIC_URL}/api/v1/projects/{project}/runs/{id}`."""
    return f"{public_url.rstrip('/')}/api/v1/projects/{quote(project, safe='')}/runs/{run_id}"


def arm(run: ActiveRun, rules: Sequence[AlertRule], link: str) -> None:
    """Give a run loaded by a driver its rules and link (and its long_running checks)."""
    run.alerts = tuple(rules)
    run.link = link
    run.long_running = [r for r in rules if "long_running" in r.on]


def _wants(run: ActiveRun, event: str) -> list[AlertRule]:
    return [r for r in run.alerts if event in r.on] if run.alerts else []


def _facts(run: ActiveRun, state: str, ended_at: datetime | None) -> RunFacts:
    return RunFacts(id=run.id, project=run.spec.project, workflow=run.spec.name, state=state, trigger=run.trigger,
                    logical_date=run.logical_date, started_at=run.started_at, ended_at=ended_at, link=run.link)


def _task(ts: TaskState) -> TaskFacts:
    return TaskFacts(name=ts.name, state=str(ts.state), attempt=ts.attempt, error=ts.error)


def _failed(run: ActiveRun) -> list[TaskFacts]:
    return [_task(t) for t in run.tasks.values() if t.state == S.FAILED]


def _record(writer: Writer, rows: list[dict[str, Any]]) -> None:
    if rows:
        after_moves(writer, lambda conn: outbox.record(conn, rows))


def _never_fails_a_run(fn: Callable[P, None]) -> Callable[P, None]:
    """Building an alert is plain data work; should it still raise (a bug), the run goes on
    without that alert, and the log says so. A database error is the driver's to handle."""

    @functools.wraps(fn)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except DBAPIError:  # the statement's: the transaction is the driver's to handle
            raise
        except Exception:  # noqa: BLE001
            log.exception("recording an alert failed (%s); the run goes on without it", fn.__name__)

    return guarded


@_never_fails_a_run
def run_ended(writer: Writer, run: ActiveRun, state: RunState, now: datetime) -> None:
    """The run ended (success or failed): record what its rules ask for."""
    event = RUN_END_EVENTS.get(state)
    rules = _wants(run, event) if event else []
    if not rules or event is None:
        return
    payload = outbox.build_payload(event, _facts(run, str(state), now), _failed(run), now)
    # A rerun ends the same run again, later: another occurrence, told again.
    _record(writer, outbox.deliveries(rules, event, run_id=run.id, occurrence=f"ended {now.isoformat()}",
                                      payload=payload, now=now))


@_never_fails_a_run
def attempt_ended(writer: Writer, run: ActiveRun, ts: TaskState, to: TaskRunState, *, timed_out: bool,
                  now: datetime) -> None:
    """An attempt of `ts` ended and the task moved to `to` (memory already says so)."""
    if not run.alerts:
        return
    events = []
    if timed_out and to in (S.RETRYING, S.FAILED):
        events.append("timeout")
    if to == S.RETRYING:
        events.append("retry")
    for event in events:
        rules = _wants(run, event)
        if not rules:
            continue
        payload = outbox.build_payload(event, _facts(run, "running", None), _failed(run), now, task=_task(ts))
        # Attempt numbers never repeat within a task run (a rerun goes on counting).
        _record(writer, outbox.deliveries(rules, event, run_id=run.id, occurrence=f"{ts.name}#{ts.attempt}",
                                          payload=payload, now=now, task=ts.name))


def long_running_due(run: ActiveRun, now: datetime) -> list[AlertRule]:
    """The long_running rules of `run` whose `after` has passed; they are not checked again."""
    if not run.long_running or run.started_at is None:
        return []
    running_for = (now - run.started_at).total_seconds()
    due = [r for r in run.long_running if r.after is not None and running_for >= r.after]
    if due:
        run.long_running = [r for r in run.long_running if r not in due]
    return due


@_never_fails_a_run
def record_long_running(conn: Connection, run: ActiveRun, rules: Iterable[AlertRule], now: datetime) -> None:
    """Record the long_running alerts of `rules` for `run` (each once per run, whoever checks)."""
    state = "paused" if run.paused else "running"
    running_for = (now - run.started_at).total_seconds() if run.started_at else 0.0
    for rule in rules:
        after = rule.after or 0.0
        payload = outbox.build_payload("long_running", _facts(run, state, None), _failed(run), now,
                                       running_for=running_for, after=after)
        started = run.started_at.isoformat() if run.started_at else ""
        outbox.record(conn, outbox.deliveries([rule], "long_running", run_id=run.id, payload=payload, now=now,
                                              occurrence=f"after {after:g}s of the start at {started}"))


@_never_fails_a_run
def unloadable_failed(conn: Connection, row: Any, spec: Workflow, rules: Sequence[AlertRule], link: str,
                      error: str, now: datetime) -> None:
    """A run that could not even be loaded was failed (`RunBook.fail_unloadable`): its failure
    rules hear of it, with the reason in place of failed tasks."""
    wanted = [r for r in rules if "failure" in r.on]
    if not wanted:
        return
    from shoal.engine.clock import from_utc_naive

    facts = RunFacts(id=row.id, project=spec.project, workflow=spec.name, state=str(RunState.FAILED),
                     trigger=row.trigger, logical_date=from_utc_naive(row.logical_date, row.timezone),
                     started_at=row.started_at or now, ended_at=now, link=link)
    payload = outbox.build_payload("failure", facts, [], now, error=f"cannot load the run: {error}")
    outbox.record(conn, outbox.deliveries(wanted, "failure", run_id=row.id, occurrence=f"ended {now.isoformat()}",
                                          payload=payload, now=now))


__all__ = [
    "arm", "attempt_ended", "long_running_due", "record_long_running", "rules_for", "run_ended", "run_link",
    "unloadable_failed",
]
