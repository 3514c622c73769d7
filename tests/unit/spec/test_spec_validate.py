from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from shoal.spec import BUILTIN_PARAMS, SpecError, Workflow, validate_workflow
from shoal.spec.validate import TaskTypeLookup


def wf(*tasks: dict[str, Any], **top: Any) -> Workflow:
    return Workflow.model_validate({"name": "w", **top, "tasks": list(tasks)})


def shell(name: str, command: str = "echo hi", **more: Any) -> dict[str, Any]:
    return {"name": name, "type": "shell", "command": command, **more}


def problems(w: Workflow, task_types: TaskTypeLookup | None) -> list[str]:
    with pytest.raises(SpecError) as info:
        validate_workflow(w, task_types)
    return [p.message for p in info.value.problems]


def test_valid_workflow_passes(task_types: TaskTypeLookup) -> None:
    validate_workflow(
        wf(shell("a", "echo ${ds} ${x}"), shell("b", "echo ${a.rows} ${y}", upstream=["a"], params={"y": "1"}),
           params={"x": "1"}),
        task_types,
    )


def test_every_builtin_param_is_defined(task_types: TaskTypeLookup) -> None:
    command = " ".join(f"${{{name}}}" for name in sorted(BUILTIN_PARAMS))
    validate_workflow(wf(shell("a", command)), task_types)


def test_outputs_of_transitive_upstream_tasks_are_readable(task_types: TaskTypeLookup) -> None:
    validate_workflow(
        wf(shell("a"), shell("b", upstream=["a"]), shell("c", "echo ${a.rows}", upstream=["b"])), task_types
    )


def test_task_params_are_defined_only_for_their_task(task_types: TaskTypeLookup) -> None:
    found = problems(wf(shell("a", "echo ${p}", params={"p": "1"}), shell("b", "echo ${p}")), task_types)
    assert len(found) == 1 and "undefined parameter ${p}" in found[0]


def test_escaped_and_shell_style_references_are_not_params(task_types: TaskTypeLookup) -> None:
    validate_workflow(wf(shell("a", "echo $${HOME} ${HOME:-x} $HOME")), task_types)


def test_without_task_types_only_the_graph_and_references_are_checked() -> None:
    validate_workflow(wf({"name": "a", "type": "anything", "whatever": 1}), None)
    assert problems(wf(shell("a", upstream=["zz"])), None) == ["unknown upstream task 'zz'; tasks are: "]


def test_all_problems_are_reported_at_once(task_types: TaskTypeLookup) -> None:
    found = problems(
        wf({"name": "a", "type": "nope"}, shell("b", "${q}", upstream=["c"]), shell("c", upstream=["b"])), task_types
    )
    assert len(found) == 3
    assert any("unknown task type 'nope'" in m for m in found)
    assert any("undefined parameter ${q}" in m for m in found)
    assert any("cycle b -> c -> b" in m for m in found)


def test_problems_carry_source_and_line_from_locator(task_types: TaskTypeLookup) -> None:
    lines = {("tasks", 1, "upstream", 0): 42}
    with pytest.raises(SpecError) as info:
        validate_workflow(wf(shell("a"), shell("b", upstream=["x"])), task_types, source="f.yaml", locate=lines.get)
    [p] = info.value.problems
    assert (p.file, p.line, p.task, p.field) == ("f.yaml", 42, "b", "upstream[0]")


def test_a_class_based_registry_works(task_types: TaskTypeLookup) -> None:
    class JumpParams(BaseModel):
        model_config = ConfigDict(extra="forbid")
        target: str

    class JumpTask:
        Params = JumpParams

        @staticmethod
        def branch_targets(params: Any) -> list[str]:
            return [params.target]

    registry: dict[str, Any] = {**task_types, "jump": JumpTask}
    validate_workflow(wf({"name": "j", "type": "jump", "target": "b"}, shell("b", upstream=["j"])), registry)
    found = problems(wf({"name": "j", "type": "jump", "target": "b"}, shell("b")), registry)
    assert found == ["'b' is not a downstream task of 'j': add 'j' to the upstream of 'b'"]


def test_date_expressions_are_checked_when_templating_can(
    task_types: TaskTypeLookup, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shoal.spec import templating

    def check(expr: str) -> None:
        if expr != "ok":
            raise ValueError(f"bad {expr}")

    monkeypatch.setattr(templating, "check_date_expr", check, raising=False)
    assert problems(wf(shell("a", "$[ok] $[nope]")), task_types) == ["bad nope"]
    monkeypatch.delattr(templating, "check_date_expr")
    validate_workflow(wf(shell("a", "$[nope]")), task_types)


def test_an_undefined_env_style_name_hints_at_the_escape(task_types: TaskTypeLookup) -> None:
    found = problems(wf(shell("a", "echo ${HOME} ${JAVA_HOME2} ${home} ${Path}")), task_types)
    hinted = [m for m in found if "reaches the shell" in m]
    assert len(found) == 4 and len(hinted) == 2
    assert "write $${HOME} and ${HOME} reaches the shell" in hinted[0]
    assert "write $${JAVA_HOME2} and ${JAVA_HOME2} reaches the shell" in hinted[1]
