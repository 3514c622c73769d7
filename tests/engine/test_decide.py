"""`runtime.decide` on hand-built runs: what a pending task becomes for each trigger rule and
each mix of upstream states, branches not taken, disabled tasks; and how a run ends."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from shoal.engine.runtime import ActiveRun, decide, final_run_state
from shoal.engine.states import TaskRunState
from shoal.spec.models import TaskSpec, Workflow
from shoal.store import utcnow
from shoal.tasks.base import BRANCHES_KEY

S = TaskRunState
WAIT = None  # decide's answer while an upstream has not ended


def _run(upstream: dict[str, str], rule: str | None = None, *, disabled: tuple[str, ...] = (),
         failure_strategy: str = "end") -> ActiveRun:
    """A run whose task `t` (with trigger rule `rule`) has the upstream tasks given, in those states."""
    tasks = [TaskSpec(name=u, type="shell", command="true") for u in upstream]
    tasks.append(TaskSpec(name="t", type="shell", command="true", upstream=list(upstream), trigger_rule=rule))
    spec = Workflow(name="w", tasks=tasks, failure_strategy=failure_strategy)
    row = SimpleNamespace(id=1, workflow_id=1, state="running", logical_date=utcnow(), timezone="UTC", params={},
                          disabled=list(disabled), priority=0, parent_task_run_id=None, trigger="manual",
                          started_at=None)
    trows = [
        SimpleNamespace(id=i, task_name=t.name, state={**upstream, "t": "pending"}[t.name], attempt=0,
                        max_attempts=1, priority=0, outputs={}, next_retry_at=None, error=None)
        for i, t in enumerate(tasks)
    ]
    return ActiveRun.from_rows(row, spec, None, trows)


CASES = [
    # rule, upstream states, what t becomes
    (None, {}, S.QUEUED),
    (None, {"u": "success"}, S.QUEUED),
    (None, {"u": "running"}, WAIT),
    (None, {"u": "retrying"}, WAIT),
    (None, {"u": "failed"}, S.UPSTREAM_FAILED),
    (None, {"u": "upstream_failed"}, S.UPSTREAM_FAILED),
    (None, {"u": "stopped"}, S.STOPPED),
    (None, {"u": "skipped"}, S.SKIPPED),
    (None, {"u": "success", "v": "skipped"}, S.SKIPPED),
    (None, {"u": "failed", "v": "queued"}, WAIT),
    ("all_done", {"u": "failed"}, S.QUEUED),
    ("all_done", {"u": "stopped", "v": "success"}, S.QUEUED),
    ("all_done", {"u": "skipped", "v": "skipped"}, S.SKIPPED),
    ("all_done", {"u": "success", "v": "pending"}, WAIT),
    ("all_done", {}, S.QUEUED),
    ("none_failed", {"u": "success", "v": "skipped"}, S.QUEUED),
    ("none_failed", {"u": "skipped"}, S.SKIPPED),
    ("none_failed", {"u": "failed", "v": "success"}, S.UPSTREAM_FAILED),
    ("none_failed", {"u": "stopped"}, S.STOPPED),
    ("one_success", {"u": "success", "v": "running"}, S.QUEUED),
    ("one_success", {"u": "failed", "v": "running"}, WAIT),
    ("one_success", {"u": "failed", "v": "skipped"}, S.UPSTREAM_FAILED),
    ("one_success", {"u": "stopped", "v": "skipped"}, S.STOPPED),
    ("one_success", {"u": "skipped", "v": "skipped"}, S.SKIPPED),
    ("one_success", {}, S.QUEUED),
]


@pytest.mark.parametrize("rule,upstream,expected", CASES,
                         ids=[f"{r or 'all_success'}:{'+'.join(u.values()) or 'none'}" for r, u, _ in CASES])
def test_a_pending_task_becomes_what_its_rule_says(rule: str | None, upstream: dict[str, str],
                                                   expected: S | None) -> None:
    assert decide(_run(upstream, rule), "t") == expected


@pytest.mark.parametrize("rule", [None, "all_done", "none_failed", "one_success"])
def test_a_disabled_task_succeeds_instead_of_running(rule: str | None) -> None:
    assert decide(_run({"u": "success"}, rule, disabled=("t",)), "t") == S.SUCCESS


@pytest.mark.parametrize("rule", [None, "all_done", "none_failed", "one_success"])
def test_a_branch_not_taken_is_skipped_whatever_its_rule(rule: str | None) -> None:
    run = _run({"check": "success"}, rule)
    run.branch_targets["check"] = {"t", "other"}
    run.tasks["check"].outputs = {BRANCHES_KEY: ["other"]}
    assert decide(run, "t") == S.SKIPPED
    run.tasks["check"].outputs = {BRANCHES_KEY: ["t"]}
    assert decide(run, "t") == S.QUEUED


@pytest.mark.parametrize("states,expected", [
    ({"u": "success", "t": "success"}, "success"),
    ({"u": "success", "t": "skipped"}, "success"),
    ({"u": "failed", "t": "upstream_failed"}, "failed"),
    ({"u": "success", "t": "stopped"}, "stopped"),
    ({"u": "failed", "t": "success"}, "success"),  # t runs on all_done: it handles the failure
])
def test_a_run_ends_as_its_tasks_say(states: dict[str, str], expected: str) -> None:
    rule = "all_done" if states["t"] == "success" and states["u"] == "failed" else None
    run = _run({"u": states["u"]}, rule)
    run.tasks["t"].state = S(states["t"])  # hand-built: the book is not involved in this rule
    assert final_run_state(run) == expected
