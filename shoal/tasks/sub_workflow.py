"""`sub_workflow`: run another workflow as a child run (same logical date) and wait for it.

The engine drives it: starting the task creates the child run in the same transaction, and the
task ends with the child's outcome. The task's own `params` (rendered) become the child run's
run-time params, overriding the child workflow's defaults. Outputs: `run_id`, `state`.
"""

from __future__ import annotations

from pydantic import Field

from shoal.tasks.base import TaskParams, TaskType


class SubWorkflowParams(TaskParams):
    workflow: str = Field(description="name of the workflow to run")
    project: str | None = Field(default=None, description="its project (default: this workflow's)")


class SubWorkflowTask(TaskType):
    name = "sub_workflow"
    Params = SubWorkflowParams
    kind = "engine"
