"""In-memory picture of the runs a driver owns, and the pure decisions made on it.

A driver holds a lease on each run it drives, so nobody else changes its task runs except to
stop them (which the guarded updates detect). Keeping the picture in memory means deciding the
downstream of a finished task reads nothing: the statements per transition stay constant
however large the DAG is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shoal.engine.states import TASK_TERMINAL, TaskRunState
from shoal.spec.models import TaskSpec, Workflow
from shoal.tasks.base import BRANCHES_KEY, TaskType

S = TaskRunState


@dataclass
class TaskState:
    """Mirror of one task_runs row of an owned run."""

    id: int
    name: str
    state: TaskRunState
    attempt: int
    max_attempts: int
    priority: int
    outputs: dict[str, Any] = field(default_factory=dict)
    next_retry_at: datetime | None = None
    next_poll_at: datetime | None = None  # dependent tasks: when to look again
    deadline: datetime | None = None  # engine-driven tasks: when the timeout hits
    secrets: tuple[str, ...] | None = None  # the values of the run's secret params it sees (cached)
    run: ActiveRun | None = field(default=None, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        # Keep the run's count of unfinished tasks current, so "is the run complete?" after each
        # outcome is O(1) instead of a scan of every task (2,000-task DAGs).
        if name == "state" and self.__dict__.get("run") is not None:
            was_done = self.__dict__["state"] in TASK_TERMINAL
            if was_done != (value in TASK_TERMINAL):
                self.run.unfinished += 1 if was_done else -1
        object.__setattr__(self, name, value)


@dataclass
class ActiveRun:
    id: int
    workflow_id: int
    spec: Workflow
    source_dir: str | None
    logical_date: datetime  # aware, in `timezone`
    timezone: str
    params: dict[str, str]
    disabled: set[str]
    priority: int
    parent_task_run_id: int | None
    tasks: dict[str, TaskState]
    types: dict[str, TaskType]
    up: dict[str, list[str]]
    down: dict[str, list[str]]
    order: dict[str, int]  # definition order, the tie-breaker when dispatching
    # Branching tasks (switch, condition) -> every downstream task they may choose between.
    branch_targets: dict[str, set[str]] = field(default_factory=dict)
    # Taken over from a previous driver: check for attempts it ran without recording their start.
    recovered: bool = False

    @property
    def search_path(self) -> list[str]:
        """Where python tasks import from: the apply directory, then the workflow file's."""
        return [p for p in (self.source_dir or "").split(os.pathsep) if p]

    @property
    def work_dir(self) -> str | None:
        """Where tasks run: the directory the workflow was applied from."""
        path = self.search_path
        return path[0] if path else None

    def spec_of(self, name: str) -> TaskSpec:
        return self._specs[name]

    unfinished: int = -1  # maintained by TaskState; -1 until attach() counts it
    # Task specs by name (the spec keeps a list): looked up several times per task start.
    _specs: dict[str, TaskSpec] = field(default_factory=dict, repr=False)

    def attach(self) -> None:
        """Index the specs, and link the task states to this run so they keep `unfinished` current."""
        self._specs = {t.name: t for t in self.spec.tasks}
        self.unfinished = sum(t.state not in TASK_TERMINAL for t in self.tasks.values())
        for t in self.tasks.values():
            t.run = self

    def is_complete(self) -> bool:
        return self.unfinished == 0

    def trigger_rule(self, name: str) -> str:
        return self.spec_of(name).trigger_rule or self.types[name].trigger_rule


def not_chosen(run: ActiveRun, upstream: str, downstream: str) -> bool:
    """Whether `upstream` is a branching task (switch, condition) that finished without choosing
    `downstream`."""
    u = run.tasks[upstream]
    return (
        u.state == S.SUCCESS
        and downstream in run.branch_targets.get(upstream, ())
        and downstream not in u.outputs.get(BRANCHES_KEY, ())
    )


def decide(run: ActiveRun, name: str) -> TaskRunState | None:
    """What a pending task becomes now, or None if it must keep waiting for an upstream."""
    rule = run.trigger_rule(name)
    states = []
    waiting = False
    for u in run.up[name]:
        if not_chosen(run, u, name):
            # A branch that was not taken is skipped whatever its trigger rule, as Airflow's
            # branch operators and DolphinScheduler's switch do: the branching task decided.
            return S.SKIPPED
        st = run.tasks[u].state
        if st in TASK_TERMINAL:
            states.append(st)
        else:
            waiting = True
    if rule == "one_success" and S.SUCCESS in states:
        return _ready(run, name)  # at the first success, without waiting for the others
    if waiting:
        return None
    failed = any(s in (S.FAILED, S.UPSTREAM_FAILED) for s in states)
    stopped = any(s == S.STOPPED for s in states)
    skipped = [s == S.SKIPPED for s in states]
    if rule == "all_done":
        # Runs whatever happened upstream, unless there is nothing to react to at all.
        if states and all(skipped):
            return S.SKIPPED
        return _ready(run, name)
    if rule == "one_success":
        if not states:
            return _ready(run, name)
        return S.UPSTREAM_FAILED if failed else (S.STOPPED if stopped else S.SKIPPED)
    if failed:
        return S.UPSTREAM_FAILED
    if stopped:
        return S.STOPPED
    if rule == "none_failed":
        if states and all(skipped):
            return S.SKIPPED
        return _ready(run, name)
    # all_success (default): any skipped upstream skips this task too.
    if any(skipped):
        return S.SKIPPED
    return _ready(run, name)


def _ready(run: ActiveRun, name: str) -> TaskRunState:
    # A task disabled for this run counts as succeeded without running.
    return S.SUCCESS if name in run.disabled else S.QUEUED


def is_handled_by_condition(run: ActiveRun, name: str) -> bool:
    """A failure is handled when a downstream task runs on any outcome (a `condition`)."""
    return any(run.trigger_rule(d) == "all_done" for d in run.down[name])


def final_run_state(run: ActiveRun) -> str:
    """failed if a failure was not handled by a condition, stopped if tasks were stopped, else success."""
    tasks = run.tasks.values()
    if any(
        (t.state == S.FAILED and not is_handled_by_condition(run, t.name)) or t.state == S.UPSTREAM_FAILED
        for t in tasks
    ):
        return "failed"
    if any(t.state == S.STOPPED for t in tasks):
        return "stopped"
    return "success"
