"""Property: on any DAG of shell tasks (random edges, priorities, failing tasks, failure_strategy
continue), a run executes each runnable task once, in dependency order, marks every task below
a failure `upstream_failed`, and fails exactly when a task failed. SQLite only."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.client import Client
from shoal.config import Settings
from shoal.spec.models import Workflow
from shoal.store import open_store


@dataclass(frozen=True)
class Node:
    name: str
    upstream: tuple[str, ...]
    fails: bool
    priority: int


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[Node], int | None]:
    n = draw(st.integers(min_value=2, max_value=12))
    nodes = []
    for i in range(n):
        names = [f"t{j}" for j in range(i)]
        upstream = draw(st.lists(st.sampled_from(names), unique=True, max_size=3)) if names else []
        nodes.append(Node(
            name=f"t{i}", upstream=tuple(sorted(upstream)),
            fails=draw(st.integers(min_value=0, max_value=3)) == 0,  # about 1 in 4
            priority=draw(st.integers(min_value=-3, max_value=3)),
        ))
    max_active = draw(st.none() | st.integers(min_value=1, max_value=3))
    return nodes, max_active


def workflow(nodes: list[Node], max_active: int | None, ledger: Path) -> Workflow:
    tasks = [
        {
            "name": n.name, "type": "shell", "upstream": list(n.upstream), "priority": n.priority,
            "command": f"echo {n.name} >> {ledger}" + ("; exit 1" if n.fails else ""),
        }
        for n in nodes
    ]
    return Workflow.model_validate(
        {"name": "prop", "failure_strategy": "continue", "max_active_tasks": max_active, "tasks": tasks}
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=dags())
@pytest.mark.slow
def test_random_dag_runs_in_dependency_order(executor, case: tuple[list[Node], int | None]) -> None:  # type: ignore[no-untyped-def]
    nodes, max_active = case
    home = Path(tempfile.mkdtemp(prefix="shoal-prop-"))
    try:
        client = Client(store=open_store(Settings(home=home / "home")), executor=executor)
        try:
            ledger = home / "ledger"
            ledger.touch()
            client.apply(workflow(nodes, max_active, ledger))
            info = client.run("prop", wait=True, timeout=120)
        finally:
            client.close()
        order = ledger.read_text().split()
    finally:
        shutil.rmtree(home, ignore_errors=True)

    state = {t.task: t.state for t in info.tasks}
    ran = set(order)
    assert len(order) == len(ran), f"a task ran twice: {order}"
    position = {name: i for i, name in enumerate(order)}
    for node in nodes:
        upstream_states = [state[u] for u in node.upstream]
        if any(s in ("failed", "upstream_failed") for s in upstream_states):
            assert state[node.name] == "upstream_failed", (node, state)
            assert node.name not in ran
            continue
        assert node.name in ran, (node, state, order)
        assert state[node.name] == ("failed" if node.fails else "success"), (node, state)
        for u in node.upstream:
            assert state[u] == "success" and position[u] < position[node.name], (u, node, order)
    assert (info.state == "failed") == any(s == "failed" for s in state.values()), (info.state, state)
    assert info.state in ("success", "failed")
