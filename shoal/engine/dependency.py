"""What a `dependent` task waits for: a successful run of another workflow on the same
calendar day (in this run's timezone), shifted by `date_offset` days."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, select

from shoal.engine.clock import to_utc_naive
from shoal.engine.runtime import ActiveRun
from shoal.engine.states import RunState, TaskRunState
from shoal.store.models import projects, runs, task_runs, workflows


def describe_dependency(conn: Connection, run: ActiveRun, params: Any) -> str:
    """What the task waits for, in words for its log (and whether that workflow exists at all)."""
    project = params.project or run.spec.project
    day = run.logical_date.date() + timedelta(days=params.date_offset)
    what = f"task {params.task!r} of " if params.task else ""
    exists = conn.execute(
        select(workflows.c.id).join(projects, projects.c.id == workflows.c.project_id)
        .where(workflows.c.name == params.workflow, projects.c.name == project)
    ).first()
    missing = "" if exists else f" (there is no workflow {params.workflow!r} in project {project!r} yet)"
    return f"waiting for {what}a successful run of {params.workflow!r} on {day.isoformat()}{missing}"


def find_dependency(conn: Connection, run: ActiveRun, params: Any) -> int | None:
    """The id of a run satisfying the dependency, or None if there is none yet."""
    day = run.logical_date.date() + timedelta(days=params.date_offset)
    start = datetime.combine(day, time(), tzinfo=run.logical_date.tzinfo)
    lo, hi = to_utc_naive(start), to_utc_naive(start + timedelta(days=1))
    q = (
        select(runs.c.id)
        .join(workflows, workflows.c.id == runs.c.workflow_id)
        .join(projects, projects.c.id == workflows.c.project_id)
        .where(
            workflows.c.name == params.workflow,
            projects.c.name == (params.project or run.spec.project),
            runs.c.logical_date >= lo,
            runs.c.logical_date < hi,
            runs.c.id != run.id,
        )
        .order_by(runs.c.id.desc())
        .limit(1)
    )
    if params.task:
        q = q.join(task_runs, task_runs.c.run_id == runs.c.id).where(
            task_runs.c.task_name == params.task, task_runs.c.state == str(TaskRunState.SUCCESS)
        )
    else:
        q = q.where(runs.c.state == str(RunState.SUCCESS))
    return conn.execute(q).scalar()
