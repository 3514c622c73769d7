"""Run and task-run states, and the one table of legal transitions.

Nothing assigns a state directly: `shoal.engine.transitions` applies a move only if the table
allows it, as one UPDATE guarded on the old state, so two drivers can never both start the same
task run and a stale decision (e.g. finishing a task that was stopped meanwhile) changes nothing.
"""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    QUEUED = "queued"  # created (manual, schedule, backfill, rerun); no driver has started it
    RUNNING = "running"  # a driver owns it and is starting its tasks
    PAUSED = "paused"  # held by a user: no task starts; running ones finish and are recorded
    SUCCESS = "success"  # every task ended success or skipped
    FAILED = "failed"  # some task failed (or upstream_failed) and nothing is left to run
    STOPPED = "stopped"  # a user stopped it; running task processes were killed


class TaskRunState(StrEnum):
    PENDING = "pending"  # waiting for its upstream tasks
    QUEUED = "queued"  # ready; waiting for executor capacity
    RUNNING = "running"  # an attempt is executing (or an inline/waiting task is being decided)
    RETRYING = "retrying"  # an attempt failed; the next one starts at next_retry_at
    SUCCESS = "success"  # the last attempt succeeded (or the task was disabled for this run)
    FAILED = "failed"  # the last attempt failed and no retries are left
    SKIPPED = "skipped"  # a switch/condition chose another branch, or all its upstreams skipped
    UPSTREAM_FAILED = "upstream_failed"  # an upstream failed, so it never ran
    STOPPED = "stopped"  # stopped by a user, or never started because the run ended early


# How a run was created (runs.trigger); a rerun or recover keeps the run's own.
RUN_TRIGGERS = ("manual", "schedule", "backfill", "sub_workflow")

RUN_TERMINAL = frozenset({RunState.SUCCESS, RunState.FAILED, RunState.STOPPED})
RUN_ACTIVE = frozenset({RunState.QUEUED, RunState.RUNNING, RunState.PAUSED})
TASK_TERMINAL = frozenset(
    {
        TaskRunState.SUCCESS,
        TaskRunState.FAILED,
        TaskRunState.SKIPPED,
        TaskRunState.UPSTREAM_FAILED,
        TaskRunState.STOPPED,
    }
)
TASK_UNFINISHED = frozenset(set(TaskRunState) - TASK_TERMINAL)
# States a task run that did not succeed can be in; `recover` reruns exactly these.
TASK_RECOVERABLE = frozenset({TaskRunState.FAILED, TaskRunState.STOPPED, TaskRunState.UPSTREAM_FAILED})

T = TaskRunState
# (from, to) -> why the move happens. The only place the legal task-run moves are listed.
TASK_TRANSITIONS: dict[tuple[TaskRunState, TaskRunState], str] = {
    (T.PENDING, T.QUEUED): "all upstreams done; ready to run",
    (T.PENDING, T.SUCCESS): "disabled for this run: counts as success without running",
    (T.PENDING, T.SKIPPED): "not chosen by a branch, or all upstreams skipped",
    (T.PENDING, T.UPSTREAM_FAILED): "an upstream failed",
    (T.PENDING, T.STOPPED): "run stopped, or ended early by failure_strategy=end",
    (T.QUEUED, T.RUNNING): "executor capacity taken; attempt starts",
    (T.QUEUED, T.STOPPED): "run stopped before it started",
    (T.QUEUED, T.FAILED): "can never fit the executor's capacity",
    (T.RUNNING, T.SUCCESS): "attempt succeeded",
    (T.RUNNING, T.FAILED): "attempt failed, no retries left",
    (T.RUNNING, T.RETRYING): "attempt failed or was lost; retries left",
    (T.RUNNING, T.STOPPED): "run stopped; process group killed",
    (T.RETRYING, T.QUEUED): "retry delay elapsed",
    (T.RETRYING, T.STOPPED): "run stopped while waiting to retry",
    # rerun / recover: a finished task goes back to pending for a new attempt series.
    **{(s, T.PENDING): "rerun or recover" for s in TASK_TERMINAL},
}

R = RunState
RUN_TRANSITIONS: dict[tuple[RunState, RunState], str] = {
    (R.QUEUED, R.RUNNING): "a driver claimed it",
    (R.QUEUED, R.STOPPED): "stopped before it started",
    (R.RUNNING, R.SUCCESS): "all tasks succeeded or were skipped",
    (R.RUNNING, R.FAILED): "a task failed and nothing is left to run",
    (R.RUNNING, R.STOPPED): "stopped by a user",
    (R.RUNNING, R.PAUSED): "paused by a user",
    (R.PAUSED, R.RUNNING): "resumed",
    (R.PAUSED, R.STOPPED): "stopped while paused",
    # The tasks running when it was paused were its last, and they ended.
    (R.PAUSED, R.SUCCESS): "its last tasks succeeded while it was paused",
    (R.PAUSED, R.FAILED): "its last tasks failed while it was paused",
    # rerun / recover bring a finished run back to the queue.
    **{(s, R.QUEUED): "rerun or recover" for s in RUN_TERMINAL},
}
del T, R


def sources_task(to: TaskRunState) -> frozenset[TaskRunState]:
    """Every state a task run may move to `to` from."""
    return frozenset(f for (f, t) in TASK_TRANSITIONS if t == to)


def sources_run(to: RunState) -> frozenset[RunState]:
    return frozenset(f for (f, t) in RUN_TRANSITIONS if t == to)
