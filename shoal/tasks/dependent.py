"""`dependent`: wait until another workflow's run for the same logical date (shifted by
`date_offset`, e.g. -1d for the previous day) has succeeded — or one of its tasks, if `task` is set.

Dates are compared as calendar days in this run's timezone, as DolphinScheduler's dependent
task does, so workflows scheduled at different hours of a day still match. The task's
`timeout` bounds the wait; `poll_interval` sets how often it looks.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from shoal.spec.models import PositiveDuration
from shoal.tasks.base import ProjectReference, TaskParams, TaskType, literal


class DependentParams(TaskParams):
    workflow: str = Field(description="the workflow whose run must have succeeded")
    project: str | None = Field(default=None, description="its project (default: this workflow's)")

    @field_validator("workflow", "project")
    @classmethod
    def _fixed(cls, v: str | None, info: Any) -> str | None:
        # Which project's workflow a task reaches is part of the definition, checked at apply.
        return literal(v, f"{info.field_name} names the workflow this task reaches")
    task: str | None = Field(default=None, description="a task of it that must have succeeded (default: the run)")
    date_offset: int = Field(
        default=0, ge=-36500, le=36500, description="days to shift the logical date by, e.g. -1 for the previous day"
    )
    poll_interval: PositiveDuration = Field(default=10.0, description="how often to look, e.g. 30s")


class DependentTask(TaskType):
    name = "dependent"
    Params = DependentParams
    kind = "engine"

    def project_references(self, config: dict[str, Any]) -> list[ProjectReference]:
        project = config.get("project")
        if not project or not isinstance(config.get("workflow"), str):
            return []
        return [ProjectReference(project, config["workflow"], starts_runs=False)]
