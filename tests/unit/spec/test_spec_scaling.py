"""Checking a large workflow costs about the same per task as a small one. No timings: the
structure that made `workflow apply` quadratic (one reachability walk per reading task, one
listing of every task per unknown upstream) is counted instead."""

from __future__ import annotations

from typing import Any

import pytest

from shoal.spec import SpecError, Workflow, dag, load_text
from shoal.spec.validate import TaskTypeLookup, validate_workflow


def chain(n: int, *, reads_back: int = 2) -> Workflow:
    """t0 -> t1 -> ...; each task reads the output of the task `reads_back` links before it."""
    tasks: list[dict[str, Any]] = []
    for i in range(n):
        task: dict[str, Any] = {"name": f"t{i}", "type": "shell", "command": "true"}
        if i:
            task["upstream"] = [f"t{i - 1}"]
            task["params"] = {"x": f"${{t{max(0, i - reads_back)}.out}}", "d": "$[yyyyMMdd-1]"}
        tasks.append(task)
    return Workflow.model_validate({"name": "big", "tasks": tasks})


def counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    calls: list[int] = []
    real = getattr(dag, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(dag, name, counted)
    return calls


def test_output_references_are_answered_for_all_tasks_at_once(
    monkeypatch: pytest.MonkeyPatch, task_types: TaskTypeLookup
) -> None:
    walks = counting(monkeypatch, "reachable")
    batches = counting(monkeypatch, "upstream_pairs")
    validate_workflow(chain(3_000, reads_back=1_000), task_types)
    assert walks == []  # once per task, this was 3,000 walks of up to 3,000 tasks
    assert len(batches) <= 2


def test_references_to_downstream_tasks_are_still_reported(task_types: TaskTypeLookup) -> None:
    wf = chain(500)
    wf.tasks[10].params["late"] = "${t400.out}"
    wf.tasks[20].params["ghost"] = "${t9999.out}"
    with pytest.raises(SpecError) as info:
        validate_workflow(wf, task_types)
    assert [p.message for p in info.value.problems] == [
        "${t400.out}: 't400' is downstream of 't10' and runs after it; "
        "a task can only read the outputs of its upstream tasks",
        "${t9999.out} reads an output of unknown task 't9999' (did you mean 't99'?)",
    ]


def test_an_unknown_upstream_in_a_large_workflow_lists_a_few_tasks(task_types: TaskTypeLookup) -> None:
    wf = chain(2_000, reads_back=1)
    wf.tasks[5].upstream.append("t4x")
    with pytest.raises(SpecError) as info:
        validate_workflow(wf, task_types)
    [problem] = info.value.problems
    assert problem.task == "t5" and problem.field == "upstream[1]"
    assert problem.message.startswith("unknown upstream task 't4x' (did you mean 't4'?); tasks are: t0, t1, t10, ")
    assert problem.message.endswith(" and 1,979 more")


def test_many_typos_in_a_large_workflow_get_a_few_suggestions(task_types: TaskTypeLookup) -> None:
    wf = chain(5_000, reads_back=1)
    for task in wf.tasks[1:]:
        task.upstream[0] += "x"
    with pytest.raises(SpecError) as info:
        validate_workflow(wf, task_types)
    unknown = [p for p in info.value.problems if p.message.startswith("unknown upstream")]
    assert len(unknown) == 4_999
    assert sum("did you mean" in p.message for p in unknown) == 20
    assert "did you mean 't0'" in unknown[0].message


def test_a_cycle_through_a_large_workflow_is_reported_once(task_types: TaskTypeLookup) -> None:
    text = "name: big\ntasks:\n" + "".join(
        f"  - {{name: t{i}, type: shell, command: 'true', upstream: [t{(i - 1) % 5_000}]}}\n" for i in range(5_000)
    )
    with pytest.raises(SpecError) as info:
        load_text(text, source_name="big.yaml", task_types=task_types)
    [problem] = info.value.problems
    assert str(problem).startswith("big.yaml:3: task 't0', field 'upstream': cycle t0 -> t1 -> ")
    assert "… 4,981 more …" in problem.message
