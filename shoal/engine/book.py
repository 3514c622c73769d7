"""The run book: the one owner of the state of the task runs a driver drives.

A task run's state lives twice: in its `task_runs` row (the truth) and in the driver's memory
(`TaskState.state`, plus the named buckets the driver works from). `RunBook.move` is the only
code that changes either: it checks the move against `TASK_TRANSITIONS` (through
`transitions`), issues the guarded UPDATE (or records it in `DeferredWrites`), sets the task's
state and moves it between buckets, and keeps the run's count of unfinished tasks current.

The buckets follow from the states, so nobody keeps them in step by hand:

- `ready`: queued tasks, dispatched by priority (`ready_in_order`)
- `retrying`: tasks waiting for `next_retry_at`
- `waiting`: running engine-driven tasks (sub_workflow, dependent, sensors), polled by the driver
- `inflight` is not a state bucket: it is what the executor runs (attempt key -> task), filled
  when an attempt is handed over and emptied when its result comes back, whatever the task's
  state became meanwhile (a stop does not make a process end).

Deciding what follows an outcome (`settle`, `after_terminal`, `end_early`, `finish`) lives here
too, because each decision is a set of moves. Run moves (`finish`) are guarded the same way.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from shoal.engine.alerts import attempt_ended, run_ended
from shoal.engine.launch import db_text
from shoal.engine.runtime import ActiveRun, TaskState, decide, final_run_state, is_handled_by_condition
from shoal.engine.states import TASK_TERMINAL, RunState, TaskRunState, sources_task
from shoal.engine.transitions import INCREMENT, Writer, move_run, move_tasks, move_tasks_returning
from shoal.executors.base import Result
from shoal.executors.capacity import Slots
from shoal.spec.dag import reachable
from shoal.spec.secrets import mask_value

S = TaskRunState
log = logging.getLogger("shoal.engine.driver")  # outcome lines read as the driver's: `-v` shows them
TaskKey = tuple[int, str]  # (run id, task name)
# A run ends from running, or from paused: the tasks running when it was paused finish.
ENDABLE = (RunState.RUNNING, RunState.PAUSED)


class RunBook:
    """The runs a driver drives, their tasks' states and the buckets those states put them in."""

    def __init__(self, owner: str, slots: Slots) -> None:
        self.owner = owner
        self.slots = slots
        self.active: dict[int, ActiveRun] = {}
        self.ready: dict[TaskKey, None] = {}  # a dict as an ordered set: cheap pops, stable order
        self.retrying: set[TaskKey] = set()
        self.waiting: set[TaskKey] = set()
        self.inflight: dict[str, TaskKey] = {}  # attempt key -> its task, while the executor runs it
        self.children: dict[int, TaskKey] = {}  # child run id -> the task waiting for it
        # Runs of this book that ended, with the task waiting for them (if any) and how they
        # ended: delivered to that task after the transaction that ended them commits.
        self.child_results: list[tuple[TaskKey, int, str]] = []
        self.finished: set[int] = set()  # runs this driver saw end
        self.per_workflow: Counter[int] = Counter()  # running task count, for max_active_tasks
        self._holder: dict[str, int] = {}  # attempt key -> workflow id it counts against

    # ----------------------------------------------------------------- the one state mover

    def move(
        self, writer: Writer, run: ActiveRun, tasks: Sequence[TaskState], frm: Iterable[TaskRunState] | TaskRunState,
        to: TaskRunState, **values: Any,
    ) -> list[TaskState]:
        """Move `tasks` of `run` from `frm` to `to`, in the database (one guarded UPDATE, or a
        deferred one) and in memory; returns the tasks that moved (see `move_many`)."""
        return self.move_many(writer, [(run, ts) for ts in tasks], frm, to, **values)

    def move_many(
        self, writer: Writer, tasks: Sequence[tuple[ActiveRun, TaskState]],
        frm: Iterable[TaskRunState] | TaskRunState, to: TaskRunState, *, exact: bool = False, **values: Any,
    ) -> list[TaskState]:
        """Move tasks of any runs from `frm` to `to` with one guarded UPDATE; returns those that moved.

        One task moves only if its guard held. Several move all, as the UPDATE reports, unless
        `exact` asks which ones did (RETURNING). `attempt` (a number or `INCREMENT`) and
        `next_retry_at` among `values` are mirrored on the tasks too.
        """
        sources = (frm,) if isinstance(frm, TaskRunState) else tuple(frm)
        ids = [ts.id for _, ts in tasks]
        if exact:
            moved_ids = move_tasks_returning(writer, ids, sources, to, owned_by=self.owner, **values)
            moved = [(run, ts) for run, ts in tasks if ts.id in moved_ids]
        else:
            moved = list(tasks) if move_tasks(writer, ids, sources, to, owned_by=self.owner, **values) else []
        attempt = values.get("attempt")
        for run, ts in moved:
            self._enter(run, ts, to)
            if attempt is not None:
                ts.attempt = ts.attempt + 1 if attempt is INCREMENT else attempt
            if "next_retry_at" in values:
                ts.next_retry_at = values["next_retry_at"]
            if "error" in values:
                ts.error = values["error"]
        return [ts for _, ts in moved]

    def end_attempt(
        self, writer: Writer, run: ActiveRun, ts: TaskState, to: TaskRunState, values: dict[str, Any], *,
        timed_out: bool, now: datetime,
    ) -> bool:
        """An attempt of running `ts` ended: move it to `to` (success, retrying or failed) and
        record the alerts that raises (timeout, retry), in the same transaction. False if it
        was not running any more (stopped or taken over meanwhile)."""
        if not self.move(writer, run, [ts], S.RUNNING, to, **values):
            return False
        attempt_ended(writer, run, ts, to, timed_out=timed_out, now=now)
        return True

    def _enter(self, run: ActiveRun, ts: TaskState, to: TaskRunState) -> None:
        """The only assignment of `TaskState.state`: leave the old state's bucket, join the new one's."""
        key = (run.id, ts.name)
        frm = ts.state
        if frm == S.QUEUED:
            self.ready.pop(key, None)
        elif frm == S.RETRYING:
            self.retrying.discard(key)
        elif frm == S.RUNNING:
            self.waiting.discard(key)
        ts.state = to
        if to == S.QUEUED:
            self.ready[key] = None
        elif to == S.RETRYING:
            self.retrying.add(key)
        elif to == S.RUNNING and run.types[ts.name].kind == "engine":
            self.waiting.add(key)
        if (frm in TASK_TERMINAL) != (to in TASK_TERMINAL):
            run.unfinished += 1 if frm in TASK_TERMINAL else -1

    # ----------------------------------------------------------------- runs in and out

    def add(self, run: ActiveRun) -> None:
        """Drive `run`: its tasks join the buckets their states put them in. What became of
        running process attempts is the caller's to find out (taken over, or followed again
        after a reload)."""
        self.active[run.id] = run
        for name, ts in run.tasks.items():
            if ts.state == S.QUEUED:
                self.ready[(run.id, name)] = None
            elif ts.state == S.RETRYING:
                self.retrying.add((run.id, name))
            elif ts.state == S.RUNNING and run.types[name].kind == "engine":
                self.waiting.add((run.id, name))

    def start(self, writer: Writer, run_id: int, started_at: datetime) -> None:
        """A queued run starts: this driver drives it."""
        move_run(writer, run_id, [RunState.QUEUED], RunState.RUNNING, owned_by=self.owner, started_at=started_at)

    def forget(self, run_id: int) -> list[str]:
        """Stop driving a run; returns the keys of its attempts still in flight (for the caller
        to kill, or to let end: their results are then dropped)."""
        if self.active.pop(run_id, None) is None:
            return []
        for coll in (self.retrying, self.waiting):
            coll.difference_update({k for k in coll if k[0] == run_id})
        for k in [k for k in self.ready if k[0] == run_id]:
            del self.ready[k]
        return [key for key, (rid, _name) in self.inflight.items() if rid == run_id]

    def clear(self) -> None:
        """Forget every run (see `Driver.reload`); attempts in flight stay, to be followed again."""
        self.active.clear()
        self.ready.clear()
        self.finished.clear()
        self.retrying.clear()
        self.waiting.clear()
        self.children.clear()
        self.child_results.clear()

    # ----------------------------------------------------------------- deciding

    def settle(self, writer: Writer, run: ActiveRun, names: Iterable[str], now: datetime) -> None:
        """Decide pending tasks whose upstreams are done, cascading through skips and failures,
        with one guarded UPDATE per target state."""
        moves: dict[TaskRunState, list[TaskState]] = {}
        todo = list(names)
        while todo:
            name = todo.pop()
            ts = run.tasks[name]
            if ts.state != S.PENDING:
                continue
            to = decide(run, name)
            if to is None:
                continue
            # In memory now, before the grouped write: `decide` of the tasks downstream reads it.
            self._enter(run, ts, to)
            moves.setdefault(to, []).append(ts)
            if to in TASK_TERMINAL:
                todo.extend(run.down[name])
        for to, group in moves.items():
            values: dict[str, Any] = {}
            if to == S.QUEUED:
                values["queued_at"] = now
            else:
                values["ended_at"] = now
                if to == S.SUCCESS:  # the only way `decide` makes a pending task succeed
                    values["note"] = "disabled for this run"
            move_tasks(writer, [t.id for t in group], [S.PENDING], to, owned_by=self.owner, **values)

    def after_terminal(self, writer: Writer, run: ActiveRun, name: str, now: datetime) -> None:
        """A task ended: decide its downstream, end the run early or finish it as it says."""
        ts = run.tasks[name]
        # Downstream first, so tasks that depend on a failure read upstream_failed, not stopped.
        self.settle(writer, run, run.down[name], now)
        if ts.state == S.FAILED and run.spec.failure_strategy == "end" and not is_handled_by_condition(run, name):
            self.end_early(writer, run, name, now)
        if run.is_complete():
            self.finish(writer, run, now)

    def end_early(self, writer: Writer, run: ActiveRun, failed: str, now: datetime) -> None:
        """failure_strategy=end: tasks not started yet will not start; running ones finish.
        Pending tasks downstream of the failure are `upstream_failed`, as under `continue`; the
        others are `stopped`."""
        downstream = reachable(run.down, failed)
        notes = {
            S.UPSTREAM_FAILED: f"upstream task {failed!r} failed",
            S.STOPPED: f"not started: task {failed!r} failed and failure_strategy is end",
        }
        for frm in (S.PENDING, S.QUEUED, S.RETRYING):
            groups: dict[TaskRunState, list[TaskState]] = {S.UPSTREAM_FAILED: [], S.STOPPED: []}
            for t in run.tasks.values():
                if t.state == frm:
                    groups[S.UPSTREAM_FAILED if frm == S.PENDING and t.name in downstream else S.STOPPED].append(t)
            for to, group in groups.items():
                if group:
                    self.move(writer, run, group, frm, to, ended_at=now, note=notes[to])

    def finish(self, writer: Writer, run: ActiveRun, now: datetime) -> None:
        """Every task of `run` ended: the run ends as they say, and a task waiting for it hears."""
        state = RunState(final_run_state(run))
        failed = [t.name for t in run.tasks.values() if t.state == S.FAILED]
        error = f"failed task(s): {', '.join(failed)}" if state == RunState.FAILED and failed else None
        if move_run(writer, run.id, ENDABLE, state, owned_by=self.owner, ended_at=now, lease_until=None, error=error):
            run_ended(writer, run, state, now)
        self.finished.add(run.id)
        parent = self.children.pop(run.id, None)
        if parent is not None:
            self.child_results.append((parent, run.id, str(state)))

    def fail_unloadable(self, writer: Writer, row: Any, trows: Iterable[Any], error: str, now: datetime) -> None:
        """A run that cannot be loaded (so has no tasks in memory) ends failed: its unfinished
        task runs are stopped in the database, so that `recover` goes on with them later."""
        unfinished = [t.id for t in trows if t.state not in TASK_TERMINAL]
        move_tasks(writer, unfinished, sources_task(S.STOPPED), S.STOPPED, owned_by=self.owner, ended_at=now,
                   note=f"not started: {error}")
        if row.state == RunState.QUEUED:
            move_run(writer, row.id, [RunState.QUEUED], RunState.RUNNING, owned_by=self.owner, started_at=now)
        move_run(writer, row.id, [RunState.RUNNING], RunState.FAILED, owned_by=self.owner, ended_at=now,
                 lease_until=None, error=f"cannot load the run: {error}; fix that, then `shoal runs recover {row.id}`")
        self.finished.add(row.id)

    # ----------------------------------------------------------------- dispatching

    def ready_in_order(self) -> Iterator[tuple[TaskKey, ActiveRun, TaskState]]:
        """Queued tasks by run priority, task priority, run, definition order; stale entries
        (run gone, task no longer queued) are dropped on the way. Tasks of paused runs wait."""
        active = self.active
        order = sorted(
            self.ready,
            key=lambda k: (
                -active[k[0]].priority, -active[k[0]].tasks[k[1]].priority, k[0], active[k[0]].order[k[1]],
            ) if k[0] in active else (0, 0, 0, 0),
        )
        for key in order:
            run = active.get(key[0])
            if run is None or run.tasks[key[1]].state != S.QUEUED:
                self.ready.pop(key, None)
                continue
            if not run.paused:
                yield key, run, run.tasks[key[1]]

    def due_retries(self, now: datetime) -> list[tuple[ActiveRun, TaskState]]:
        """Retrying tasks whose delay is over."""
        due = []
        for r, n in self.retrying:
            run = self.active.get(r)
            if run is not None and (run.tasks[n].next_retry_at or now) <= now:
                due.append((run, run.tasks[n]))
        return due

    def next_timer(self) -> datetime | None:
        """The earliest retry, engine-task poll or engine-task deadline, if any."""
        times = [self.active[r].tasks[n].next_retry_at for r, n in self.retrying if r in self.active]
        for r, n in self.waiting:
            if r in self.active:
                ts = self.active[r].tasks[n]
                times += [ts.next_poll_at, ts.deadline]
        return min((t for t in times if t is not None), default=None)

    # ----------------------------------------------------------------- capacity

    def hold(self, key: str, run: ActiveRun, ts: TaskState) -> None:
        """Take an attempt's resources and its place in its workflow's max_active_tasks."""
        res = run.spec_of(ts.name).resources
        self.slots.take(key, res.cpu, res.memory, res.gpu)
        self.per_workflow[run.workflow_id] += 1
        self._holder[key] = run.workflow_id

    def release(self, key: str) -> None:
        """Give back an attempt's capacity and its place in its workflow's max_active_tasks, even
        when its run was forgotten meanwhile (stopped elsewhere): a long-lived scheduler must not
        leak either."""
        self.slots.release(key)
        workflow_id = self._holder.pop(key, None)
        if workflow_id is not None and self.per_workflow[workflow_id] > 0:
            self.per_workflow[workflow_id] -= 1

    def release_all(self) -> None:
        for key in self.slots.holders():
            self.release(key)


def attempt_outcome(
    run: ActiveRun, ts: TaskState, result: Result, now: datetime, secrets: tuple[str, ...],
) -> tuple[TaskRunState, dict[str, Any]]:
    """What an attempt's end makes of its task (success, retrying or failed), and the values to
    record with that move (secrets masked, the next retry's time)."""
    spec = run.spec_of(ts.name)
    started = result.started_at
    duration = (result.ended_at - started) if (result.ended_at and started) else None
    values: dict[str, Any] = {
        "ended_at": now, "duration": duration, "outputs": mask_value(result.outputs or {}, secrets),
        "error": db_text(mask_value(result.error, secrets)), "pid": result.pid,
    }
    retries_left = not result.is_success and ts.attempt < ts.max_attempts
    ending = failure_that_ends(run) if retries_left else None
    if result.is_success:
        values["error"] = None
        return S.SUCCESS, values
    if retries_left and ending is None:
        # Counted within this series of attempts: a rerun or recover starts a new series
        # (max_attempts moves on by retries + 1) and waits retry_delay again first.
        nth = ts.attempt - (ts.max_attempts - spec.retries - 1)
        values["next_retry_at"] = now + timedelta(seconds=spec.retry_wait(nth))
        return S.RETRYING, values
    if ending is not None:  # as a task waiting to retry is stopped under failure_strategy end
        values["note"] = f"not retried: task {ending!r} failed and failure_strategy is end"
    return S.FAILED, values


def log_outcome(run: ActiveRun, ts: TaskState, to: TaskRunState, result: Result, values: dict[str, Any]) -> None:
    """One line per recorded attempt, for `shoal scheduler` and `-v`."""
    took = f" in {values['duration']:.2f}s" if values.get("duration") is not None else ""
    what = f"run {run.id}: task {ts.name} attempt {ts.attempt}/{ts.max_attempts}"
    if to == S.SUCCESS:
        log.info("%s succeeded%s", what, took)
    elif to == S.RETRYING:
        log.info("%s failed%s: %s; retrying at %s UTC", what, took, result.error,
                 values["next_retry_at"].isoformat(sep=" ", timespec="seconds"))
    else:
        log.info("%s %s%s: %s", what, to, took, result.error)


def failure_that_ends(run: ActiveRun) -> str | None:
    """The failed task that ends this run under `failure_strategy: end`, if one has: no task of
    it starts again, not even a retry."""
    if run.spec.failure_strategy != "end":
        return None
    failed = (t.name for t in run.tasks.values() if t.state == S.FAILED and not is_handled_by_condition(run, t.name))
    return next(failed, None)


__all__ = ["RunBook", "TaskKey", "attempt_outcome", "failure_that_ends", "log_outcome"]
