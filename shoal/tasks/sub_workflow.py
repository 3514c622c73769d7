"""`sub_workflow`: run another workflow as a child run (same logical date) and wait for it.

The engine drives it: starting the task creates the child run in the same transaction, and the
task ends with the child's outcome. The task's own `params` (rendered) become the child run's
run-time params, overriding the child workflow's defaults. Outputs: `run_id`, `state`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from shoal.tasks.base import ProjectReference, TaskParams, TaskType, literal


class SubWorkflowParams(TaskParams):
    workflow: str = Field(description="name of the workflow to run")
    project: str | None = Field(default=None, description="its project (default: this workflow's)")

    @field_validator("workflow", "project")
    @classmethod
    def _fixed(cls, v: str | None, info: Any) -> str | None:
        # Which project's workflow a task reaches is part of the definition, checked at apply.
        return literal(v, f"{info.field_name} names the workflow this task reaches")


class SubWorkflowTask(TaskType):
    name = "sub_workflow"
    Params = SubWorkflowParams
    kind = "engine"

    def project_references(self, config: dict[str, Any]) -> list[ProjectReference]:
        project = config.get("project")
        if not project or not isinstance(config.get("workflow"), str):
            return []
        return [ProjectReference(project, config["workflow"], starts_runs=True)]
