"""Run operations shared by the CLI, the API and the scheduler: trigger, stop, pause, resume,
rerun from a task, recover. Each is one transaction: it happens whole or not at all. Reading runs
back is `engine.run_info` (re-exported here)."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select

from shoal.engine.access import LOCAL, Actor, Role, require
from shoal.engine.clock import as_aware, check_logical_date, to_utc_naive
from shoal.engine.run_info import RunInfo, TaskRunInfo, get_run, list_runs, run_not_found, run_states
from shoal.engine.states import (
    RUN_ACTIVE,
    RUN_TERMINAL,
    TASK_RECOVERABLE,
    TASK_UNFINISHED,
    RunState,
    TaskRunState,
)
from shoal.engine.transitions import move_run, move_tasks
from shoal.engine.workflows import get_workflow, version_spec
from shoal.errors import Conflict, InvalidInput, ParamError
from shoal.spec.dag import descendants
from shoal.spec.models import DEFAULT_PROJECT, Workflow
from shoal.spec.templating import check_date_expr, find_references
from shoal.spec.validate import BUILTIN_PARAMS
from shoal.store import Store, utcnow
from shoal.store.models import projects, runs, task_runs, workflows
from shoal.tasks.base import TaskType
from shoal.tasks.registry import get_task_type


def parse_logical_date(text: str | date | datetime | None, timezone: str) -> datetime:
    """`2026-01-31`, `2026-01-31T02:00`, a date/datetime, or None (now) -> aware datetime."""
    if text is None:
        return datetime.now(ZoneInfo(timezone)).replace(microsecond=0)
    if isinstance(text, (date, datetime)):
        value: date | datetime = text
    else:
        try:
            has_time = "T" in text or " " in text.strip()
            value = datetime.fromisoformat(text) if has_time else date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(f"invalid date {text!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]") from None
    check_logical_date(value)
    when = as_aware(value, timezone)
    check_logical_date(when)  # an aware time moved into the run's zone may land on another day
    return when


def trigger_run(
    store: Store,
    name: str,
    *,
    project: str = DEFAULT_PROJECT,
    params: dict[str, str] | None = None,
    logical_date: str | date | datetime | None = None,
    disabled: list[str] | None = None,
    trigger: str = "manual",
    priority: int = 0,
    parent_task_run_id: int | None = None,
    backfill_id: int | None = None,
    dedup_key: str | None = None,
    timezone: str | None = None,
    conn: Connection | None = None,
) -> int:
    """Create a queued run of the workflow's current version, with all its task runs pending."""
    if conn is None:
        with store.engine.begin() as c:
            return trigger_run(
                store, name, project=project, params=params, logical_date=logical_date, disabled=disabled,
                trigger=trigger, priority=priority, parent_task_run_id=parent_task_run_id,
                backfill_id=backfill_id, dedup_key=dedup_key, timezone=timezone, conn=c,
            )
    wf = get_workflow(store, name, project=project, conn=conn)
    spec = wf.spec
    # The zone the logical date (and ${ds}) is read in: the schedule's, or the parent run's for a
    # sub-workflow, so parent and child see the same day.
    timezone = timezone or (spec.schedule.timezone if spec.schedule else "UTC")
    when = parse_logical_date(logical_date, timezone)
    disabled = list(dict.fromkeys(disabled or []))
    names = [t.name for t in spec.tasks]
    unknown = [d for d in disabled if d not in names]
    if unknown:
        raise InvalidInput(
            f"--disable names unknown task(s) {', '.join(map(repr, unknown))} of workflow {name!r}; "
            f"its tasks are: {', '.join(names)}", field="disable",
        )
    for d in disabled:
        task_type = get_task_type(spec.task(d).type)
        if type(task_type).branch_targets is not TaskType.branch_targets:
            # A disabled task counts as succeeded without running; a branching one would have
            # chosen no branch, which silently skips them all.
            raise InvalidInput(
                f"cannot disable {d!r} of workflow {name!r}: it is a {task_type.name} task, which chooses "
                "the branch its downstream takes; disable the tasks of the branch you do not want instead",
                field="disable",
            )
    if parent_task_run_id is not None:
        _refuse_sub_workflow_cycle(conn, parent_task_run_id, wf.id, name)
    declared = set(spec.params).union(*(t.params for t in spec.tasks))
    if trigger == "sub_workflow" and params:
        # The parent task's params, passed along: the child takes those it declares.
        params = {k: v for k, v in params.items() if k in declared}
    for key in params or {}:
        if not key.isidentifier():
            raise InvalidInput(f"parameter name {key!r} is not valid: use letters, digits and _", field="params")
        if key not in declared:
            # Nothing could read it (`${...}` of an undeclared name is refused at apply): a typo.
            raise InvalidInput(
                f"workflow {name!r} has no parameter {key!r}; its parameters are: "
                f"{', '.join(sorted(declared)) or 'none'} (declare it under `params:` to pass it)", field="params",
            )
        if trigger != "sub_workflow":  # those were rendered by the parent already
            _check_param_value(key, params[key], declared)
    now = utcnow()
    run_id = conn.execute(
        insert(runs).values(
            workflow_id=wf.id, version_id=wf.version_id, logical_date=to_utc_naive(when), timezone=timezone,
            state=str(RunState.QUEUED), trigger=trigger, params=dict(params or {}), disabled=disabled,
            priority=priority, parent_task_run_id=parent_task_run_id, backfill_id=backfill_id,
            dedup_key=dedup_key, created_at=now,
        )
    ).inserted_primary_key[0]
    conn.execute(
        insert(task_runs),
        [
            {
                "run_id": run_id, "task_name": t.name, "state": str(TaskRunState.PENDING), "attempt": 0,
                "max_attempts": t.retries + 1, "priority": t.priority, "outputs": {},
            }
            for t in spec.tasks
        ],
    )
    return int(run_id)


def _load_run_row(conn: Connection, run_id: int, project: str | None = None) -> Any:
    """The run's row; with `project`, only if the run is one of that project's (a run is
    addressed within its project: another project's run is not found, whoever asks)."""
    q = select(runs).where(runs.c.id == run_id)
    if project is not None:
        q = (q.join(workflows, workflows.c.id == runs.c.workflow_id)
             .join(projects, projects.c.id == workflows.c.project_id).where(projects.c.name == project))
    row = conn.execute(q).first()
    if row is None:
        raise run_not_found(run_id, project)
    return row


def stop_run(
    store: Store, run_id: int, *, project: str | None = None, actor: Actor = LOCAL, conn: Connection | None = None,
) -> list[int]:
    """Stop a run (and its sub-workflow runs): unfinished tasks become stopped. The driver that
    owns the run sees it within half a second and kills the task processes; if that driver is
    gone, its executor already killed them. Returns the ids of the runs stopped. With
    `project`, the run must be that project's, where `actor` must be an editor. With `conn`, in
    that transaction (a driver stopping a sub-workflow run its task timed out on)."""
    if project is not None:
        require(actor, project, Role.EDITOR, f"stop runs of project {project!r}")
    stopped: list[int] = []
    with store.engine.begin() if conn is None else nullcontext(conn) as conn:
        row = _load_run_row(conn, run_id, project)
        if row.state in RUN_TERMINAL:
            raise Conflict(f"run {run_id} already ended ({row.state}); nothing to stop")
        todo = [run_id]
        while todo:
            rid = todo.pop()
            state = conn.execute(select(runs.c.state).where(runs.c.id == rid)).scalar_one()
            if state in RUN_TERMINAL:
                continue
            now = utcnow()
            move_run(conn, rid, [RunState(state)], RunState.STOPPED, ended_at=now, error="stopped by user")
            tasks = conn.execute(
                select(task_runs.c.id, task_runs.c.state).where(
                    task_runs.c.run_id == rid, task_runs.c.state.in_([str(s) for s in TASK_UNFINISHED])
                )
            ).all()
            for t in tasks:
                move_tasks(
                    conn, [t.id], [TaskRunState(t.state)], TaskRunState.STOPPED, ended_at=now, error="stopped by user"
                )
            children = conn.execute(
                select(runs.c.id).where(runs.c.parent_task_run_id.in_([t.id for t in tasks]))
            ).scalars()
            todo.extend(children)
            stopped.append(rid)
    return stopped


def pause_run(store: Store, run_id: int, *, project: str | None = None, actor: Actor = LOCAL) -> None:
    """Pause a running run: none of its tasks starts until `resume_run`, while the ones running
    finish and are recorded (a run whose last tasks were running then ends). The driver that
    owns it sees the pause within half a second. With `project`, as for `stop_run`."""
    _pause_or_resume(store, run_id, RunState.RUNNING, RunState.PAUSED, project, actor)


def resume_run(store: Store, run_id: int, *, project: str | None = None, actor: Actor = LOCAL) -> None:
    """Resume a paused run: its tasks start again as they become ready."""
    _pause_or_resume(store, run_id, RunState.PAUSED, RunState.RUNNING, project, actor)


def _pause_or_resume(store: Store, run_id: int, frm: RunState, to: RunState, project: str | None,
                     actor: Actor) -> None:
    verb = "pause" if to == RunState.PAUSED else "resume"
    if project is not None:
        require(actor, project, Role.EDITOR, f"{verb} runs of project {project!r}")
    with store.engine.begin() as conn:
        row = _load_run_row(conn, run_id, project)
        if not move_run(conn, run_id, [frm], to):
            raise Conflict(f"run {run_id} is {row.state}, not {frm}: only a {frm} run can be {verb}d")


def _check_param_value(key: str, value: str, declared: set[str]) -> None:
    """A run-time value is checked like a declared one at apply: what it references must exist."""
    for ref in find_references(str(value)):
        if ref.kind == "output":
            why = f"a run-time param cannot read task outputs ({ref.text}); reference it in the task instead"
        elif ref.kind == "param" and ref.name not in declared | BUILTIN_PARAMS:
            why = f"undefined parameter {ref.text}; it can use: {', '.join(sorted(declared | BUILTIN_PARAMS))}"
        elif ref.kind == "date":
            try:
                check_date_expr(ref.expr)
                continue
            except ParamError as exc:
                why = str(exc)
        else:
            continue
        raise InvalidInput(f"-p {key}={value}: {why}", field="params")


def _refuse_sub_workflow_cycle(conn: Connection, parent_task_run_id: int, workflow_id: int, name: str) -> None:
    """A sub-workflow run of a workflow that is already among its ancestors would start the same
    chain again, without end: refuse it, naming the chain."""
    chain: list[tuple[int, str]] = []
    task_run_id: int | None = parent_task_run_id
    while task_run_id is not None:
        row = conn.execute(
            select(runs.c.workflow_id, runs.c.parent_task_run_id, workflows.c.name)
            .join(task_runs, task_runs.c.run_id == runs.c.id)
            .join(workflows, workflows.c.id == runs.c.workflow_id)
            .where(task_runs.c.id == task_run_id)
        ).first()
        if row is None:
            return
        chain.append((row.workflow_id, row.name))
        if row.workflow_id == workflow_id:
            path = " -> ".join(n for _, n in reversed(chain))
            raise InvalidInput(
                f"sub-workflow cycle: {path} -> {name}; a workflow cannot run itself as a sub-workflow, "
                "directly or through others"
            )
        task_run_id = row.parent_task_run_id


def _spec_for_run(conn: Connection, row: Any) -> Workflow:
    return version_spec(conn, row.version_id)[0]


def _requeue(conn: Connection, row: Any, spec: Workflow, names: set[str], reason: str) -> int:
    """Send the finished task runs `names` back to pending and the run back to the queue."""
    if row.state in RUN_ACTIVE:
        raise Conflict(f"run {row.id} is still {row.state}; stop it first or wait for it to finish")
    tasks = conn.execute(
        select(task_runs.c.id, task_runs.c.task_name, task_runs.c.state, task_runs.c.attempt).where(
            task_runs.c.run_id == row.id, task_runs.c.task_name.in_(sorted(names))
        )
    ).all()
    for t in tasks:
        retries = spec.task(t.task_name).retries
        move_tasks(
            conn, [t.id], [TaskRunState(t.state)], TaskRunState.PENDING,
            max_attempts=t.attempt + retries + 1, outputs={}, error=None, note=reason,
            queued_at=None, started_at=None, ended_at=None, next_retry_at=None, pid=None, duration=None,
        )
    move_run(
        conn, row.id, [RunState(row.state)], RunState.QUEUED, ended_at=None, owner=None, lease_until=None, error=None
    )
    return len(tasks)


def rerun_from(store: Store, run_id: int, task: str, *, project: str | None = None, actor: Actor = LOCAL) -> int:
    """Rerun `task` and everything downstream of it in a finished run. Returns tasks requeued."""
    if project is not None:
        require(actor, project, Role.EDITOR, f"rerun runs of project {project!r}")
    with store.engine.begin() as conn:
        row = _load_run_row(conn, run_id, project)
        spec = _spec_for_run(conn, row)
        if task not in {t.name for t in spec.tasks}:
            raise InvalidInput(f"run {run_id} has no task {task!r}; its tasks: {', '.join(t.name for t in spec.tasks)}")
        names = {task} | descendants(spec, task)
        return _requeue(conn, row, spec, names, reason=f"rerun from {task}")


def recover_run(store: Store, run_id: int, *, project: str | None = None, actor: Actor = LOCAL) -> int:
    """Rerun only the failed, stopped and upstream_failed tasks of a failed or stopped run."""
    if project is not None:
        require(actor, project, Role.EDITOR, f"recover runs of project {project!r}")
    with store.engine.begin() as conn:
        row = _load_run_row(conn, run_id, project)
        if row.state == RunState.SUCCESS:
            raise Conflict(f"run {run_id} succeeded; nothing to recover (use `runs rerun --from TASK`)")
        spec = _spec_for_run(conn, row)
        names = set(
            conn.execute(
                select(task_runs.c.task_name).where(
                    task_runs.c.run_id == run_id, task_runs.c.state.in_([str(s) for s in TASK_RECOVERABLE])
                )
            ).scalars()
        )
        return _requeue(conn, row, spec, names, reason="recover")


__all__ = [
    "RunInfo", "TaskRunInfo", "get_run", "list_runs", "parse_logical_date", "pause_run", "recover_run", "rerun_from",
    "resume_run", "run_states", "stop_run", "trigger_run",
]
