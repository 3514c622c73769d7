"""Runs: trigger, backfill, list, show, stop, rerun from a task, recover, and wait for them.

The engine does the work (`shoal.engine.runs`, `.backfill`, the driver); this module is what a
use case needs around it: who may act (`actor`), several runs at once, and waiting, which drives
the runs here unless a scheduler is running to do it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as dt_time
from types import ModuleType
from typing import TYPE_CHECKING

from shoal.engine import run_info
from shoal.engine.access import LOCAL, Actor, Role, require
from shoal.engine.run_info import RunInfo, TaskRunInfo
from shoal.engine.states import RUN_TERMINAL, RunState
from shoal.engine.states import RUN_TRIGGERS as TRIGGERS
from shoal.errors import Conflict, InvalidInput
from shoal.services.pages import Page, check_limit, decode_cursor, page_of
from shoal.services.streams import IDLE, Idle
from shoal.spec.models import DEFAULT_PROJECT
from shoal.store import Store
from shoal.store.retry import DATABASE_AWAY, DatabaseRetry, when_database_answers

if TYPE_CHECKING:
    from shoal.executors.base import Executor

__all__ = [
    "BackfillPlan", "BackfillResult", "RunEvent", "RunInfo", "RunSummary", "TaskRunInfo", "Watcher", "backfill",
    "check_state", "check_stoppable", "ended", "is_driven",
    "list_runs", "pause", "plan_backfill", "runs_page", "recover", "rerun", "resume",
    "scheduler_running", "show", "show_many", "stop", "trigger", "wait", "watch",
]

Watcher = Callable[[list[int]], None]  # called on each tick of a wait with the runs still going
WATCH_SECONDS = 0.2  # how often a wait looks at runs a scheduler drives


@dataclass(frozen=True)
class RunSummary:
    """One row of `list_runs`: a run without its tasks. Times are ISO text (the logical date in
    the run's timezone, the others UTC)."""

    id: int
    project: str
    workflow: str
    version: int
    state: str
    trigger: str
    logical_date: str
    created_at: str
    ended_at: str | None


@dataclass(frozen=True)
class BackfillResult:
    id: int
    run_ids: list[int]  # in the order they run


def _operations() -> ModuleType:
    """`shoal.engine.runs`, loaded at the first change to a run: it brings workflow validation,
    templating and the task types, which reading runs (`shoal runs list`) never needs."""
    from shoal.engine import runs

    return runs


def trigger(
    store: Store, name: str, *, project: str = DEFAULT_PROJECT, params: dict[str, str] | None = None,
    logical_date: str | date | datetime | None = None, disabled: list[str] | None = None, actor: Actor = LOCAL,
) -> RunInfo:
    """Queue a run of the workflow's current version (logical date: now unless given)."""
    require(actor, project, Role.EDITOR, f"start runs of project {project!r}")
    run_id = _operations().trigger_run(
        store, name, project=project, params=params, logical_date=logical_date, disabled=disabled,
    )
    return run_info.get_run(store, run_id)


def backfill(
    store: Store, name: str, *, start: date, end: date, project: str = DEFAULT_PROJECT, parallel: int = 1,
    descending: bool = False, params: dict[str, str] | None = None, disabled: list[str] | None = None,
    actor: Actor = LOCAL,
) -> BackfillResult:
    """Queue a run for every logical date from `start` to `end` (see `shoal.engine.backfill`)."""
    require(actor, project, Role.EDITOR, f"start runs of project {project!r}")
    from shoal.engine.backfill import create_backfill

    bf_id, run_ids = create_backfill(
        store, name, start=start, end=end, project=project, parallel=parallel, descending=descending,
        params=params, disabled=disabled,
    )
    return BackfillResult(bf_id, run_ids)


@dataclass(frozen=True)
class BackfillPlan:
    """The runs a backfill would create, stored nothing: their logical dates in the order they run."""

    count: int
    dates: list[datetime]


def plan_backfill(
    store: Store, name: str, *, start: date, end: date, project: str = DEFAULT_PROJECT, parallel: int = 1,
    descending: bool = False, actor: Actor = LOCAL,
) -> BackfillPlan:
    """The logical dates `backfill` of this range would queue, in order (the range and the
    workflow are checked as it checks them; params and disabled tasks when the runs are made)."""
    require(actor, project, Role.EDITOR, f"start runs of project {project!r}")
    from shoal.engine.backfill import backfill_plan

    dates = backfill_plan(store, name, start=start, end=end, project=project, parallel=parallel,
                          descending=descending)
    return BackfillPlan(len(dates), dates)


def list_runs(
    store: Store, *, project: str | None = None, workflow: str | None = None, state: str | None = None,
    limit: int = 50, since: date | datetime | None = None, until: date | datetime | None = None,
    trigger: str | None = None, before: int | None = None, actor: Actor = LOCAL,
) -> list[RunSummary]:
    """Recent runs, newest first, of projects `actor` may read. `since`/`until` bound the logical
    date (a date: that whole day, UTC; inclusive); `before`: runs older than that run id."""
    if project is not None:
        require(actor, project, Role.VIEWER, f"read runs of project {project!r}")
    if state is not None and state not in set(RunState):
        raise InvalidInput(f"state {state!r} is not a run state; the states are: {', '.join(RunState)}",
                           field="state")
    if trigger is not None and trigger not in TRIGGERS:
        raise InvalidInput(f"trigger {trigger!r}: expected one of {', '.join(TRIGGERS)}", field="trigger")
    rows = run_info.list_runs(
        store, project=project, workflow=workflow, state=state, limit=limit, before=before, trigger=trigger,
        since=None if since is None else _bound(since, end=False),
        until=None if until is None else _bound(until, end=True),
        readable=None if actor.roles is None else list(actor.roles),
    )
    return [RunSummary(**r) for r in rows]


def runs_page(
    store: Store, *, cursor: str | None = None, limit: int = 50, project: str | None = None,
    workflow: str | None = None, state: str | None = None, since: date | datetime | None = None,
    until: date | datetime | None = None, trigger: str | None = None, actor: Actor = LOCAL,
) -> Page[RunSummary]:
    """A page of `list_runs`; `cursor`: the `next_cursor` of the page before."""
    after = decode_cursor(cursor, (int,))
    rows = list_runs(store, project=project, workflow=workflow, state=state, limit=check_limit(limit) + 1,
                     since=since, until=until, trigger=trigger, before=after[0] if after else None, actor=actor)
    return page_of(rows, limit, lambda r: (r.id,))


def _bound(day: date | datetime, *, end: bool) -> datetime:
    """A bound of a logical-date range as an aware datetime: a date means the whole day (UTC),
    a naive datetime is UTC."""
    if not isinstance(day, datetime):
        return datetime.combine(day, dt_time.max if end else dt_time.min, tzinfo=UTC)
    return day if day.tzinfo else day.replace(tzinfo=UTC)


def show(store: Store, run_id: int, *, project: str | None = DEFAULT_PROJECT, actor: Actor = LOCAL) -> RunInfo:
    """A run with its task runs; a run is addressed within its project (None: any project)."""
    return run_info.get_run(store, run_id, project=project, actor=actor)


def show_many(store: Store, run_ids: Iterable[int], *, patient: bool = False) -> list[RunInfo]:
    """Runs known to exist (one a command created or found); `patient`: wait out a database blip
    rather than fail, as the runs go on regardless."""
    ids = list(run_ids)

    def read() -> list[RunInfo]:
        return [run_info.get_run(store, i) for i in ids]

    return when_database_answers(read) if patient else read()


def stop(store: Store, run_ids: Iterable[int], *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL) -> list[int]:
    """Stop runs and their sub-workflow runs; returns every run stopped. Each id is checked
    before any run is stopped, so a bad one changes nothing."""
    ids = list(dict.fromkeys(run_ids))
    for run_id in ids:
        check_stoppable(run_id, run_info.get_run(store, run_id, project=project, actor=actor).state)
    stopped: list[int] = []
    for run_id in ids:
        if run_id not in stopped:  # already stopped as a sub-workflow run of an earlier one
            stopped.extend(_operations().stop_run(store, run_id, project=project, actor=actor))
    return stopped


def check_stoppable(run_id: int, state: str) -> None:
    """Conflict for a run that has ended: there is nothing to stop."""
    if state in RUN_TERMINAL:
        raise Conflict(f"run {run_id} already ended ({state}); nothing to stop")


def check_state(run_id: int, state: str, needed: str, verb: str) -> None:
    """Conflict unless the run is in the state `verb` (pause, resume) needs."""
    if state != needed:
        raise Conflict(f"run {run_id} is {state}, not {needed}: nothing to {verb}")


def pause(store: Store, run_ids: Iterable[int], *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL) -> list[int]:
    """Pause running runs: no task of theirs starts until `resume`; running attempts finish and
    are recorded. Each id is checked first, so a bad one (or one not running) changes nothing."""
    return _each(store, run_ids, project, actor, RunState.RUNNING, "pause", _operations().pause_run)


def resume(store: Store, run_ids: Iterable[int], *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL) -> list[int]:
    """Resume paused runs: their tasks start again as they become ready."""
    return _each(store, run_ids, project, actor, RunState.PAUSED, "resume", _operations().resume_run)


def _each(store: Store, run_ids: Iterable[int], project: str, actor: Actor, needed: RunState, verb: str,
          move: Callable[..., None]) -> list[int]:
    ids = list(dict.fromkeys(run_ids))
    for run_id in ids:
        check_state(run_id, run_info.get_run(store, run_id, project=project, actor=actor).state, needed, verb)
    for run_id in ids:
        move(store, run_id, project=project, actor=actor)
    return ids


def rerun(store: Store, run_id: int, from_task: str, *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL) -> int:
    """Run `from_task` and everything downstream of it again; returns how many tasks will run."""
    return _operations().rerun_from(store, run_id, from_task, project=project, actor=actor)


def recover(store: Store, run_id: int, *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL) -> int:
    """Run the failed, stopped and upstream_failed tasks again; returns how many."""
    return _operations().recover_run(store, run_id, project=project, actor=actor)


@dataclass(frozen=True)
class RunEvent:
    """What `watch` saw: kind "run", the run with its task runs (first, and whenever its state
    changes); kind "task", a task run whose state or attempt changed."""

    kind: str
    data: RunInfo | TaskRunInfo


def watch(
    store: Store, run_id: int, *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL,
    poll: float = WATCH_SECONDS, idle: bool = False,
) -> Iterator[RunEvent | Idle]:
    """A run as it changes, until it has ended (its last event is the run in its final state).
    `idle`: yield IDLE where it would sleep `poll` (see `services.streams`)."""
    info = run_info.get_run(store, run_id, project=project, actor=actor)
    yield RunEvent("run", info)
    seen = {t.task: (t.state, t.attempt) for t in info.tasks}
    state = info.state
    while state not in RUN_TERMINAL:
        if idle:
            yield IDLE
        else:
            time.sleep(poll)
        info = run_info.get_run(store, run_id)
        for t in info.tasks:
            if seen.get(t.task) != (t.state, t.attempt):
                seen[t.task] = (t.state, t.attempt)
                yield RunEvent("task", t)
        if info.state != state:
            state = info.state
            yield RunEvent("run", info)


# The scheduler module brings the driver (executors, task types): imported by the two functions
# below when first called, so that reading runs (`shoal runs list`) never loads it.


def scheduler_running(store: Store) -> bool:
    """Is a scheduler alive to drive queued runs (else a waiting command drives them itself)?"""
    from shoal.engine.scheduler import scheduler_alive

    return scheduler_alive(store)


def is_driven(store: Store, run_id: int) -> bool:
    """Is something driving the run, or about to (see `shoal.engine.scheduler.run_driven`)?"""
    from shoal.engine.scheduler import run_driven

    return run_driven(store, run_id)


def ended(store: Store, run_ids: Iterable[int]) -> bool:
    """Have all these runs ended? One query, however many runs (a wait asks it every tick)."""
    return all(state in RUN_TERMINAL for state in run_info.run_states(store, run_ids).values())


def wait(
    store: Store, run_ids: Iterable[int], *, timeout: float | None = None, on_tick: Watcher | None = None,
    executor: Executor | None = None,
) -> None:
    """Block until the runs end: drive them here (with `executor`, else one of its own), unless
    a scheduler is running to do it. TimeoutError after `timeout` seconds."""
    ids = list(run_ids)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        watching = _watch(store, ids, deadline, timeout, on_tick)
        if watching is None:
            return
        if watching:
            continue
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        _drive(store, ids, remaining, on_tick, executor)
        return


def _drive(
    store: Store, ids: list[int], timeout: float | None, on_tick: Watcher | None, executor: Executor | None,
) -> None:
    # Imported here: the driver brings the executors and task types, which reading runs never needs.
    from shoal.alerts.notifier import Notifier
    from shoal.engine.driver import Driver

    with Driver(store, only=ids, executor=executor) as driver:
        # With no scheduler, nobody else sends these runs' alerts: a notifier of our own does,
        # as they happen, and gets a short flush once the runs ended (SHOAL_ALERT_FLUSH_SECONDS);
        # what is still pending then is left for the next scheduler.
        notifier = Notifier(store, runs=driver.only).start()
        flush = 0.0
        try:
            driver.drive(ids, timeout=timeout, on_tick=on_tick)
            flush = store.settings.alert_flush_seconds
        except KeyboardInterrupt:
            # Cut off what runs here, record it (retried by whoever drives the runs next, if it
            # has retries) and let the runs go, so that any driver, on any host, goes on with
            # them at once.
            try:
                driver.drain(0.0, why="the waiting command was interrupted")
            except DATABASE_AWAY:  # nothing recorded: the next driver finds them cut off
                pass
            raise
        finally:
            notifier.close(flush)


def _watch(
    store: Store, ids: list[int], deadline: float | None, timeout: float | None, on_tick: Watcher | None
) -> bool | None:
    """While a scheduler is alive, watch it drive the runs. None: they ended; True: the
    scheduler went away (look again); False: there is none, drive them here. A database that
    goes away meanwhile is waited for: the runs go on without us."""
    watched = False
    retry = DatabaseRetry()
    while True:
        try:
            if ended(store, ids):
                return None
            if not scheduler_running(store):
                return watched
            watched = True
            if on_tick:
                on_tick(ids)
        except DATABASE_AWAY as exc:
            time.sleep(retry.failed(exc))
            continue
        retry.ok()
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"runs {ids} did not finish within {timeout}s")
        time.sleep(WATCH_SECONDS)
