"""`dependent`: wait until another workflow's run for the same logical date (shifted by
`date_offset`, e.g. -1d for the previous day) has succeeded — or one of its tasks, if `task` is set.

Dates are compared as calendar days in this run's timezone, as DolphinScheduler's dependent
task does, so workflows scheduled at different hours of a day still match. The task's
`timeout` bounds the wait; `poll_interval` sets how often it looks. The engine drives it
(`EngineTask`): a sensor written as a task type looks the same.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from pydantic import Field, field_validator

from shoal.spec.models import PositiveDuration
from shoal.tasks.base import (
    Done,
    EngineContext,
    EngineTaskType,
    ProjectReference,
    TaskParams,
    Waiting,
    literal,
)


class DependentParams(TaskParams):
    workflow: str = Field(
        description="the workflow to wait for: a run of it for the same day must have succeeded, e.g. daily_etl",
    )
    project: str | None = Field(
        default=None, description="the project of that workflow; empty: this workflow's project",
    )

    @field_validator("workflow", "project")
    @classmethod
    def _fixed(cls, v: str | None, info: Any) -> str | None:
        # Which project's workflow a task reaches is part of the definition, checked at apply.
        return literal(v, f"{info.field_name} names the workflow this task reaches")
    task: str | None = Field(
        default=None,
        description="wait only for this task of that workflow to succeed, e.g. load; empty: the whole run",
    )
    date_offset: int = Field(
        default=0, ge=-36500, le=36500,
        description="which day's run to wait for, in days from this run's logical date: 0 the same day, -1 the "
        "previous day",
    )
    poll_interval: PositiveDuration = Field(
        default=10.0,
        description="how often to look: seconds, or with a unit, e.g. 30s or 5m; the task's timeout bounds the wait",
    )


class DependentTask(EngineTaskType):
    name = "dependent"
    Params = DependentParams
    group = "logic"
    description = ("Wait until another workflow's run (or one of its tasks) for the same day, or a day shifted "
                   "by date_offset, has succeeded.")

    def poll(self, ctx: EngineContext) -> Waiting | Done:
        p: DependentParams = ctx.task.params
        found = find_dependency(ctx, p)
        if found is not None:
            return Done(ok=True, outputs={"run_id": found}, log=f"dependency met: run {found} succeeded")
        said = f"{describe_dependency(ctx, p)}; looking every {p.poll_interval:g}s" if ctx.first_poll else None
        return Waiting(poll_in=p.poll_interval, log=said)

    def on_timeout(self, ctx: EngineContext) -> Done:
        p: DependentParams = ctx.task.params
        done = self.poll(ctx)  # one last look: met just in time counts
        if isinstance(done, Done):
            return done
        return Done(ok=False, timed_out=True, error=f"timed out waiting for {p.workflow!r}")

    def project_references(self, config: dict[str, Any]) -> list[ProjectReference]:
        project = config.get("project")
        if not project or not isinstance(config.get("workflow"), str):
            return []
        return [ProjectReference(project, config["workflow"], starts_runs=False)]


def _day(ctx: EngineContext, p: DependentParams) -> datetime:
    """The start of the calendar day waited for, in the run's timezone."""
    day = ctx.task.logical_date.date() + timedelta(days=p.date_offset)
    return datetime.combine(day, time(), tzinfo=ctx.task.logical_date.tzinfo)


def describe_dependency(ctx: EngineContext, p: DependentParams) -> str:
    """What the task waits for, in words for its log (and whether that workflow exists at all)."""
    from sqlalchemy import select

    from shoal.store.models import projects, workflows

    project = p.project or ctx.task.project
    what = f"task {p.task!r} of " if p.task else ""
    exists = ctx.conn.execute(
        select(workflows.c.id).join(projects, projects.c.id == workflows.c.project_id)
        .where(workflows.c.name == p.workflow, projects.c.name == project)
    ).first()
    missing = "" if exists else f" (there is no workflow {p.workflow!r} in project {project!r} yet)"
    return f"waiting for {what}a successful run of {p.workflow!r} on {_day(ctx, p).date().isoformat()}{missing}"


def find_dependency(ctx: EngineContext, p: DependentParams) -> int | None:
    """The id of a run satisfying the dependency, or None if there is none yet."""
    from sqlalchemy import select

    from shoal.store.models import projects, runs, task_runs, workflows

    start = _day(ctx, p)
    # Stored times are naive UTC.
    lo, hi = (t.astimezone(UTC).replace(tzinfo=None) for t in (start, start + timedelta(days=1)))
    q = (
        select(runs.c.id)
        .join(workflows, workflows.c.id == runs.c.workflow_id)
        .join(projects, projects.c.id == workflows.c.project_id)
        .where(
            workflows.c.name == p.workflow,
            projects.c.name == (p.project or ctx.task.project),
            runs.c.logical_date >= lo,
            runs.c.logical_date < hi,
            runs.c.id != ctx.task.run_id,
        )
        .order_by(runs.c.id.desc())
        .limit(1)
    )
    if p.task:
        q = q.join(task_runs, task_runs.c.run_id == runs.c.id).where(
            task_runs.c.task_name == p.task, task_runs.c.state == "success"
        )
    else:
        q = q.where(runs.c.state == "success")
    return ctx.conn.execute(q).scalar()
