"""`switch`: the first case whose `when` holds picks its `then` task; the other branches skip."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shoal.spec.expressions import check_condition, evaluate_condition
from shoal.tasks.base import BRANCHES_KEY, TaskContext, TaskParams, TaskType


class SwitchCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    when: str = Field(
        description="a condition on params and upstream outputs, e.g. ${evaluate.auc} >= 0.75 and ${region} == 'us'",
    )
    then: str = Field(description="the downstream task to run when the condition holds, e.g. deploy")

    @field_validator("when")
    @classmethod
    def _valid_syntax(cls, v: str) -> str:
        # Syntax errors surface when the workflow is applied, not when the run reaches the switch.
        check_condition(v)
        return v


class SwitchParams(TaskParams):
    cases: list[SwitchCase] = Field(
        min_length=1,
        description="the branches, checked in order: the first case whose condition holds picks its task; "
        "the other branches are skipped",
    )
    default: str | None = Field(
        default=None, description="the downstream task to run when no case holds; empty: run no branch",
    )


class SwitchTask(TaskType):
    name = "switch"
    Params = SwitchParams
    kind = "inline"
    group = "logic"
    description = ("Pick one downstream branch: the first case whose condition holds (e.g. ${evaluate.auc} >= "
                   "0.75), else the default; the other branches are skipped.")
    # `when` is evaluated with typed values (42 > 10), not rendered to text first.
    raw_fields = frozenset({"cases"})

    def branch_targets(self, params: Any) -> list[str]:
        targets = [c.then for c in params.cases]
        if params.default:
            targets.append(params.default)
        return list(dict.fromkeys(targets))

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        p: SwitchParams = ctx.params
        for i, case in enumerate(p.cases):
            if evaluate_condition(case.when, ctx.scope):
                return {BRANCHES_KEY: [case.then], "branch": case.then, "case": i}
        chosen = [p.default] if p.default else []
        return {BRANCHES_KEY: chosen, "branch": p.default or "", "case": -1}
