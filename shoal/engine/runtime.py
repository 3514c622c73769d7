"""In-memory picture of the runs a driver owns, and the pure decisions made on it.

A driver holds a lease on each run it drives, so nobody else changes its task runs except to
stop them (which the guarded updates detect). Keeping the picture in memory means deciding the
downstream of a finished task reads nothing: the statements per transition stay constant
however large the DAG is.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shoal.engine.clock import from_utc_naive
from shoal.engine.states import TASK_TERMINAL, RunState, TaskRunState
from shoal.spec.alerts import AlertRule
from shoal.spec.dag import downstream_map, upstream_map
from shoal.spec.models import TaskSpec, Workflow
from shoal.tasks.base import BRANCHES_KEY, TaskType
from shoal.tasks.registry import get_task_type

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
    error: str | None = None  # its last attempt's error (masked), as recorded: alerts tell it


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
    # Paused by a user (`RunState.PAUSED`): none of its tasks starts until it is resumed.
    paused: bool = False
    trigger: str = "manual"
    started_at: datetime | None = None  # naive UTC, once a driver started it
    # Its alert rules (the workflow's own, else its project's default; see `engine.alerts`), the
    # long_running ones not reported yet, and the link alerts give to it.
    alerts: tuple[AlertRule, ...] = ()
    long_running: list[AlertRule] = field(default_factory=list)
    link: str = ""

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

    # Tasks not in a terminal state, kept current by `RunBook.move` (the one writer of task
    # state), so "is the run complete?" after each outcome is O(1) instead of a scan of every
    # task (2,000-task DAGs). -1 until `attach` counts it.
    unfinished: int = -1
    # Task specs by name (the spec keeps a list): looked up several times per task start.
    _specs: dict[str, TaskSpec] = field(default_factory=dict, repr=False)

    def attach(self) -> None:
        """Index the specs and count the unfinished tasks."""
        self._specs = {t.name: t for t in self.spec.tasks}
        self.unfinished = sum(t.state not in TASK_TERMINAL for t in self.tasks.values())

    @classmethod
    def from_rows(cls, row: Any, spec: Workflow, source_dir: str | None, trows: Iterable[Any]) -> ActiveRun:
        """The in-memory run from its `runs` row, its version's spec and its `task_runs` rows.
        Raises whatever looking up a task type raises (a plugin that no longer imports)."""
        types = {t.name: get_task_type(t.type) for t in spec.tasks}
        run = cls(
            id=row.id, workflow_id=row.workflow_id, spec=spec, source_dir=source_dir,
            logical_date=from_utc_naive(row.logical_date, row.timezone), timezone=row.timezone,
            params=dict(row.params or {}), disabled=set(row.disabled or []), priority=row.priority,
            parent_task_run_id=row.parent_task_run_id,
            tasks={
                t.task_name: TaskState(
                    id=t.id, name=t.task_name, state=S(t.state), attempt=t.attempt,
                    max_attempts=t.max_attempts, priority=t.priority, outputs=dict(t.outputs or {}),
                    next_retry_at=t.next_retry_at, error=t.error,
                )
                for t in trows
            },
            types=types, up=upstream_map(spec), down=downstream_map(spec),
            order={t.name: i for i, t in enumerate(spec.tasks)}, paused=row.state == RunState.PAUSED,
            trigger=row.trigger, started_at=row.started_at,
        )
        run.attach()
        for t in spec.tasks:
            if types[t.name].kind == "inline":
                params = types[t.name].Params.model_validate(t.config)
                run.branch_targets[t.name] = set(types[t.name].branch_targets(params))
        return run

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
