"""`condition`: runs when its upstreams are done, whatever their outcome, and picks a branch:
`success_branch` if every upstream succeeded, else `failure_branch` (DolphinScheduler's CONDITIONS).

A failed upstream handled this way does not fail the run: the chosen branch decides it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from shoal.tasks.base import BRANCHES_KEY, TaskContext, TaskParams, TaskType


def _as_list(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


class ConditionParams(TaskParams):
    success_branch: list[str] = Field(
        default_factory=list,
        description="the downstream tasks to run if every upstream succeeded (a name or a list), e.g. [release]",
    )
    failure_branch: list[str] = Field(
        default_factory=list,
        description="the downstream tasks to run if an upstream failed (a name or a list), e.g. [page_oncall]",
    )

    _lists = field_validator("success_branch", "failure_branch", mode="before")(_as_list)


class ConditionTask(TaskType):
    name = "condition"
    Params = ConditionParams
    kind = "inline"
    trigger_rule = "all_done"
    group = "logic"
    description = ("Once its upstreams are done, whatever their outcome, run the success branch if they all "
                   "succeeded and the failure branch otherwise.")

    def branch_targets(self, params: Any) -> list[str]:
        return list(dict.fromkeys([*params.success_branch, *params.failure_branch]))

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        p: ConditionParams = ctx.params
        ok = all(state in ("success", "skipped") for state in ctx.upstream_states.values())
        chosen = p.success_branch if ok else p.failure_branch
        return {BRANCHES_KEY: list(chosen), "outcome": "success" if ok else "failure"}
