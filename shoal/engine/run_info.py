"""Reading runs back: a run with its task runs, recent runs, and the states of a few runs.

Apart from the run operations (`engine.runs`) because reading is what most commands do (`shoal
runs list|show`, every tick of a wait): this module loads no workflow validation, templating or
task types.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from shoal.engine.access import LOCAL, Actor, Role, require
from shoal.engine.clock import from_utc_naive, to_utc_naive
from shoal.engine.states import RUN_TERMINAL
from shoal.errors import NotFound
from shoal.spec.secrets import masked_params
from shoal.store import Store
from shoal.store.models import projects, runs, task_runs, workflow_versions, workflows


@dataclass
class TaskRunInfo:
    id: int
    task: str
    state: str
    attempt: int
    max_attempts: int
    started_at: datetime | None
    ended_at: datetime | None
    duration: float | None
    outputs: dict[str, Any]
    error: str | None
    note: str | None
    pid: int | None


@dataclass
class RunInfo:
    id: int
    workflow: str
    project: str
    version: int
    state: str
    trigger: str
    logical_date: datetime  # aware, in the run's timezone
    params: dict[str, Any]
    disabled: list[str]
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    error: str | None
    tasks: list[TaskRunInfo] = field(default_factory=list)

    @property
    def is_finished(self) -> bool:
        return self.state in RUN_TERMINAL


def run_not_found(run_id: int, project: str | None) -> NotFound:
    if project is None:
        return NotFound(f"run {run_id} not found; `shoal runs list` shows recent runs")
    return NotFound(
        f"run {run_id} not found in project {project!r}; `shoal runs list --project {project}` shows its runs "
        "(a run of another project needs --project)", run_id=run_id, project=project,
    )


def get_run(
    store: Store, run_id: int, conn: Connection | None = None, *, project: str | None = None, actor: Actor = LOCAL,
) -> RunInfo:
    """A run with its task runs; with `project`, only a run of that project (`actor` a viewer)."""
    if project is not None:
        require(actor, project, Role.VIEWER, f"read runs of project {project!r}")
    if conn is None:
        # The run, then its task runs, each as last committed: a run that changed in between
        # shows its tasks newer than itself, which the next read catches up with.
        with store.reading() as c:
            return get_run(store, run_id, c, project=project, actor=actor)
    q = (
        select(runs, workflows.c.name.label("wf_name"), projects.c.name.label("project"),
               workflow_versions.c.version.label("version"),
               workflow_versions.c.spec["secrets"].label("secrets"))  # not the whole definition
        .join(workflows, workflows.c.id == runs.c.workflow_id)
        .join(projects, projects.c.id == workflows.c.project_id)
        .join(workflow_versions, workflow_versions.c.id == runs.c.version_id)
        .where(runs.c.id == run_id)
    )
    if project is not None:
        q = q.where(projects.c.name == project)
    row = conn.execute(q).first()
    if row is None:
        raise run_not_found(run_id, project)
    tasks = conn.execute(select(task_runs).where(task_runs.c.run_id == run_id).order_by(task_runs.c.id)).all()
    return RunInfo(
        id=row.id, workflow=row.wf_name, project=row.project, version=row.version, state=row.state,
        trigger=row.trigger, logical_date=from_utc_naive(row.logical_date, row.timezone),
        params=masked_params(row.params or {}, row.secrets or ()), disabled=row.disabled or [],
        created_at=row.created_at,
        started_at=row.started_at, ended_at=row.ended_at, error=row.error,
        tasks=[
            TaskRunInfo(
                id=t.id, task=t.task_name, state=t.state, attempt=t.attempt, max_attempts=t.max_attempts,
                started_at=t.started_at, ended_at=t.ended_at, duration=t.duration, outputs=t.outputs or {},
                error=t.error, note=t.note, pid=t.pid,
            )
            for t in tasks
        ],
    )


def list_runs(
    store: Store, *, project: str | None = None, workflow: str | None = None, state: str | None = None,
    limit: int = 50, before: int | None = None, since: datetime | None = None, until: datetime | None = None,
    trigger: str | None = None, readable: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """Recent runs, newest first, with their project and workflow version.

    `before`: only runs with a smaller id (the keyset of the next page: the cost of a page does
    not grow with the history); `since`/`until`: logical dates (aware), inclusive; `readable`:
    only runs of these projects (None: any)."""
    q = (
        # Only the columns a row shows: params and disabled are JSON to decode, for nothing.
        select(runs.c.id, runs.c.state, runs.c.trigger, runs.c.logical_date, runs.c.timezone, runs.c.created_at,
               runs.c.ended_at, workflows.c.name.label("wf_name"), projects.c.name.label("project"),
               workflow_versions.c.version.label("version"))
        .join(workflows, workflows.c.id == runs.c.workflow_id)
        .join(projects, projects.c.id == workflows.c.project_id)
        .join(workflow_versions, workflow_versions.c.id == runs.c.version_id)
        .order_by(runs.c.id.desc())
        .limit(limit)
    )  # fmt: skip
    if project:
        q = q.where(projects.c.name == project)
    if readable is not None:
        q = q.where(projects.c.name.in_(list(readable)))
    if workflow:
        q = q.where(workflows.c.name == workflow)
    if state:
        q = q.where(runs.c.state == str(state))
    if trigger:
        q = q.where(runs.c.trigger == trigger)
    if before is not None:
        q = q.where(runs.c.id < before)
    if since is not None:
        q = q.where(runs.c.logical_date >= to_utc_naive(since))
    if until is not None:
        q = q.where(runs.c.logical_date <= to_utc_naive(until))
    with store.reading() as conn:
        found = conn.execute(q).all()
    # Plain tuples, fetched at once: a Row's attributes, fetched one row at a time, were most
    # of a page's cost.
    return [
        {
            "id": run_id, "project": project_, "workflow": wf_name, "version": version, "state": state_,
            "trigger": trigger_, "logical_date": from_utc_naive(logical, tz).isoformat(),
            "created_at": created.isoformat(timespec="seconds"),
            "ended_at": ended.isoformat(timespec="seconds") if ended else None,
        }
        for run_id, state_, trigger_, logical, tz, created, ended, wf_name, project_, version in found
    ]


def run_states(store: Store, run_ids: Iterable[int]) -> dict[int, str]:
    """The state of each of these runs that exists: one query, however many runs."""
    ids = list(run_ids)
    with store.engine.connect() as conn:
        rows = conn.execute(select(runs.c.id, runs.c.state).where(runs.c.id.in_(ids)))
        return {row.id: row.state for row in rows}


__all__ = ["RunInfo", "TaskRunInfo", "get_run", "list_runs", "run_not_found", "run_states"]
