"""`switch`: the first case whose `when` holds picks its `then` task; the other branches skip."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shoal.spec.expressions import check_condition, evaluate_condition
from shoal.tasks.base import BRANCHES_KEY, TaskContext, TaskParams, TaskType


class SwitchCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    when: str = Field(description="condition, e.g. ${evaluate.auc} >= 0.75")
    then: str = Field(description="downstream task to run when it holds")

    @field_validator("when")
    @classmethod
    def _valid_syntax(cls, v: str) -> str:
        # Syntax errors surface when the workflow is applied, not when the run reaches the switch.
        check_condition(v)
        return v


class SwitchParams(TaskParams):
    cases: list[SwitchCase] = Field(min_length=1)
    default: str | None = Field(default=None, description="downstream task when no case holds")


class SwitchTask(TaskType):
    name = "switch"
    Params = SwitchParams
    kind = "inline"
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
