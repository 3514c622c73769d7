"""`sub_workflow`: run another workflow as a child run (same logical date) and wait for it.

The engine drives it (`EngineTask`): starting the task creates the child run in the same
transaction, and the task ends with the child's outcome. The task's own `params` (rendered)
become the child run's run-time params, overriding the child workflow's defaults. On timeout the
child run is stopped. Outputs: `run_id`, `state`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from shoal.tasks.base import (
    Done,
    EngineContext,
    EngineTaskType,
    ProjectReference,
    TaskParams,
    Waiting,
    literal,
)

ENDED = frozenset({"success", "failed", "stopped"})  # run states (`RunState`, which is the engine's)


class SubWorkflowParams(TaskParams):
    workflow: str = Field(description="the workflow to run as a child run, e.g. daily_features")
    project: str | None = Field(
        default=None, description="the project of that workflow; empty: this workflow's project",
    )

    @field_validator("workflow", "project")
    @classmethod
    def _fixed(cls, v: str | None, info: Any) -> str | None:
        # Which project's workflow a task reaches is part of the definition, checked at apply.
        return literal(v, f"{info.field_name} names the workflow this task reaches")


class SubWorkflowTask(EngineTaskType):
    name = "sub_workflow"
    Params = SubWorkflowParams
    group = "logic"
    description = ("Run another workflow as a child run for the same logical date and wait for it; the task's "
                   "params become the child run's params.")

    def start(self, ctx: EngineContext) -> Waiting | Done:
        p: SubWorkflowParams = ctx.task.params
        child = ctx.runs.start_child(p.workflow, p.project or ctx.task.project, ctx.task_params)
        return Waiting(child_run=child, log=f"started sub-workflow run {child} of {p.workflow!r}")

    def poll(self, ctx: EngineContext) -> Waiting | Done:
        from sqlalchemy import select

        from shoal.store.models import runs

        child, state = ctx.child_run, None
        if child is None:  # taken over from another driver: find the child it started
            row = ctx.conn.execute(
                select(runs.c.id, runs.c.state).where(runs.c.parent_task_run_id == ctx.task.task_run_id)
                .order_by(runs.c.id.desc())
            ).first()
            if row is None:
                return Done(ok=False, error="lost: its sub-workflow run is gone")
            child, state = row.id, row.state
        else:
            state = ctx.conn.execute(select(runs.c.state).where(runs.c.id == child)).scalar()
        if state not in ENDED:
            return Waiting(child_run=child)
        ok = state == "success"
        return Done(ok=ok, outputs={"run_id": child, "state": state},
                    error=None if ok else f"sub-workflow run {child} ended {state}")

    def on_timeout(self, ctx: EngineContext) -> Done:
        if ctx.child_run is not None:
            ctx.runs.stop(ctx.child_run)
        return super().on_timeout(ctx)

    def project_references(self, config: dict[str, Any]) -> list[ProjectReference]:
        project = config.get("project")
        if not project or not isinstance(config.get("workflow"), str):
            return []
        return [ProjectReference(project, config["workflow"], starts_runs=True)]
