"""Engine-driven tasks: the engine's side of the `EngineTask` protocol (`shoal.tasks.base`).

A task type of kind `engine` (sub_workflow, dependent, a third-party sensor) runs no process:
the driver starts it, polls it when it asked to be polled (or when the run it waits for ended)
and times it out. `EngineTasks` builds the context for each of those calls (the rendered
params, the driver's transaction, what the task may do to runs) and returns the task's answer,
a `Waiting` or a `Done`; the driver records it. The driver knows the kind, never the type.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from shoal.engine.launch import CannotStart, Launcher, one_line
from shoal.engine.runtime import ActiveRun, TaskState
from shoal.errors import ShoalError
from shoal.store import Store
from shoal.store.retry import DATABASE_AWAY
from shoal.tasks.base import Done, EngineContext, EngineTask, Waiting

Outcome = Waiting | Done


class _RunControl:
    """What an engine-driven task of `run` may do to runs (`tasks.base.RunControl`)."""

    def __init__(self, store: Store, run: ActiveRun, ts: TaskState, conn: Connection) -> None:
        self._store, self._run, self._ts, self._conn = store, run, ts, conn

    def start_child(self, workflow: str, project: str, params: dict[str, str]) -> int:
        from shoal.engine.runs import trigger_run

        run = self._run
        return trigger_run(
            self._store, workflow, project=project, params=params, logical_date=run.logical_date,
            trigger="sub_workflow", parent_task_run_id=self._ts.id, priority=run.priority, timezone=run.timezone,
            conn=self._conn,
        )

    def stop(self, run_id: int) -> None:
        from shoal.engine.runs import stop_run

        try:
            # In the driver's transaction: SQLite lets one writer in at a time, and that is it.
            stop_run(self._store, run_id, conn=self._conn)
        except ShoalError:
            pass  # it ended meanwhile


class EngineTasks:
    """Starts, polls and times out a driver's engine-driven tasks."""

    def __init__(self, store: Store, launcher: Launcher) -> None:
        self.store = store
        self.launcher = launcher
        self._polled: set[tuple[int, str, int]] = set()  # attempts polled once (they said what they wait for)

    def _context(
        self, conn: Connection, run: ActiveRun, ts: TaskState, attempt: int, now: datetime, child: int | None,
    ) -> EngineContext:
        """Raises `CannotStart` if the task cannot be rendered."""
        try:
            scope = self.launcher.scope(run, ts, attempt)
            params, values = self.launcher.render(run, ts, scope)
            task_params = {k: scope.param(k) for k in run.spec_of(ts.name).params}
        except DATABASE_AWAY:
            raise
        except Exception as exc:  # noqa: BLE001 - what cannot be rendered fails this task, not the driver
            raise CannotStart(f"cannot start: {one_line(exc)}") from exc
        return EngineContext(
            task=self.launcher.context(run, ts, attempt, params, values=values), conn=conn,
            runs=_RunControl(self.store, run, ts, conn), task_params=task_params,
            timeout=run.spec_of(ts.name).timeout, now=now, child_run=child,
            first_poll=(run.id, ts.name, attempt) not in self._polled,
        )

    def start(self, conn: Connection, run: ActiveRun, ts: TaskState, now: datetime) -> Outcome:
        """Start the next attempt, in `conn`'s transaction; raises `CannotStart`."""
        ctx = self._context(conn, run, ts, ts.attempt + 1, now, None)
        try:
            return _task(run, ts).start(ctx)
        except DATABASE_AWAY:
            raise
        except ShoalError as exc:
            raise CannotStart(f"cannot start: {exc}") from exc

    def poll(self, conn: Connection, run: ActiveRun, ts: TaskState, now: datetime, child: int | None) -> Outcome:
        """Ask a running task whether it is done (a task that cannot be rendered is, failed)."""
        return self._call("poll", conn, run, ts, now, child)

    def time_out(self, conn: Connection, run: ActiveRun, ts: TaskState, now: datetime, child: int | None) -> Done:
        """Its timeout passed: the task cleans up and says how it ends."""
        outcome = self._call("on_timeout", conn, run, ts, now, child)
        assert isinstance(outcome, Done)
        return outcome

    def _call(self, what: str, conn: Connection, run: ActiveRun, ts: TaskState, now: datetime,
              child: int | None) -> Outcome:
        try:
            ctx = self._context(conn, run, ts, ts.attempt, now, child)
        except CannotStart as exc:
            return Done(ok=False, error=f"cannot render the task: {exc.reason.removeprefix('cannot start: ')}")
        self._polled.add((run.id, ts.name, ts.attempt))
        try:
            outcome: Any = getattr(_task(run, ts), what)(ctx)
        except DATABASE_AWAY:
            raise
        except Exception as exc:  # noqa: BLE001 - a sensor that breaks fails its task, not the driver
            return Done(ok=False, error=f"{what} failed: {one_line(exc)}")
        return outcome

    def forget(self, run_id: int) -> None:
        self._polled = {k for k in self._polled if k[0] != run_id}

    def clear(self) -> None:
        self._polled.clear()


def _task(run: ActiveRun, ts: TaskState) -> EngineTask:
    task_type: Any = run.types[ts.name]
    return task_type  # kind "engine": implements `EngineTask` (see `EngineTaskType`)


__all__ = ["EngineTasks", "Outcome"]
