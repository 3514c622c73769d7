"""Fake task types mirroring the real shell/python/switch/condition ones (shoal.tasks is above spec)."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict

from shoal.spec.validate import TaskTypeInfo


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ShellParams(_Strict):
    command: str


class PythonParams(_Strict):
    callable: str | None = None
    script: str | None = None
    isolation: Literal["fork", "worker"] = "fork"


class Case(_Strict):
    when: str
    then: str


class SwitchParams(_Strict):
    cases: list[Case]
    default: str | None = None


class ConditionParams(_Strict):
    success_branch: str
    failure_branch: str


class FakeType:
    def __init__(self, params: type[BaseModel]) -> None:
        self.Params = params

    def branch_targets(self, params: Any) -> list[str]:
        if isinstance(params, SwitchParams):
            return [c.then for c in params.cases] + ([params.default] if params.default else [])
        if isinstance(params, ConditionParams):
            return [params.success_branch, params.failure_branch]
        return []


TASK_TYPES: dict[str, TaskTypeInfo] = {
    "shell": FakeType(ShellParams),
    "python": FakeType(PythonParams),
    "switch": FakeType(SwitchParams),
    "condition": FakeType(ConditionParams),
}


@pytest.fixture
def task_types() -> dict[str, TaskTypeInfo]:
    return TASK_TYPES
