from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoal.errors import NotFound
from shoal.spec import SpecError, Workflow, dag
from shoal.spec.dag import (
    ancestors,
    cycle_message,
    descendants,
    downstream_map,
    find_cycle,
    reachable,
    topological_order,
    upstream_map,
    upstream_pairs,
)


def make(edges: dict[str, list[str]], priority: dict[str, int] | None = None) -> Workflow:
    """A workflow whose task `name` has upstream `edges[name]`, in dict order."""
    priority = priority or {}
    return Workflow.model_validate({
        "name": "g",
        "tasks": [
            {"name": n, "type": "shell", "upstream": ups, "priority": priority.get(n, 0)}
            for n, ups in edges.items()
        ],
    })


DIAMOND = make({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "e": []})


def test_upstream_and_downstream_maps_follow_definition_order() -> None:
    assert upstream_map(DIAMOND) == {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "e": []}
    assert downstream_map(DIAMOND) == {"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": [], "e": []}


def test_maps_ignore_unknown_upstream_names_and_repeats() -> None:
    wf = make({"a": [], "b": ["a", "ghost", "a"]})
    assert upstream_map(wf) == {"a": [], "b": ["a"]}
    assert downstream_map(wf) == {"a": ["b"], "b": []}


def test_topological_order_keeps_definition_order_among_ready_tasks() -> None:
    assert topological_order(DIAMOND) == ["a", "b", "c", "d", "e"]


def test_topological_order_runs_higher_priority_first() -> None:
    wf = make({"a": [], "b": ["a"], "c": ["a"], "d": []}, priority={"c": 5, "d": 1})
    assert topological_order(wf) == ["d", "a", "c", "b"]


def test_topological_order_raises_spec_error_naming_the_cycle() -> None:
    with pytest.raises(SpecError, match=r"cycle b -> c -> b"):
        topological_order(make({"a": [], "b": ["a", "c"], "c": ["b"]}))


def test_find_cycle_returns_the_cycle_in_flow_order() -> None:
    assert find_cycle(make({"a": ["c"], "b": ["a"], "c": ["b"]})) == ["a", "b", "c", "a"]
    assert find_cycle(make({"a": ["a"]})) == ["a", "a"]
    assert find_cycle(DIAMOND) is None


def test_descendants_include_the_task_for_rerun_from_task() -> None:
    assert descendants(DIAMOND, "b") == {"b", "d"}
    assert descendants(DIAMOND, "a", include_self=False) == {"b", "c", "d"}


def test_ancestors_are_every_transitive_upstream() -> None:
    assert ancestors(DIAMOND, "d") == {"a", "b", "c", "d"}
    assert ancestors(DIAMOND, "d", include_self=False) == {"a", "b", "c"}
    assert ancestors(DIAMOND, "e") == {"e"}


def test_unknown_task_is_not_found() -> None:
    with pytest.raises(NotFound, match="has no task 'zz'"):
        descendants(DIAMOND, "zz")


@st.composite
def dags(draw: Any) -> Workflow:
    """A random DAG: edges only go from earlier to later in a random order, then shuffled."""
    n = draw(st.integers(1, 12))
    rank = draw(st.permutations(range(n)))
    names = [f"t{i}" for i in range(n)]
    edges: dict[str, list[str]] = {}
    for i in draw(st.permutations(range(n))):
        earlier = [names[j] for j in range(n) if rank[j] < rank[i]]
        edges[names[i]] = draw(st.lists(st.sampled_from(earlier), unique=True)) if earlier else []
    priority = {name: draw(st.integers(-2, 2)) for name in names}
    return make(edges, priority)


@st.composite
def graphs(draw: Any) -> Workflow:
    """A random directed graph, cycles allowed (self-loops included)."""
    n = draw(st.integers(1, 8))
    names = [f"t{i}" for i in range(n)]
    return make({name: draw(st.lists(st.sampled_from(names), unique=True, max_size=3)) for name in names})


@settings(max_examples=60, deadline=None)
@given(dags())
def test_topological_order_respects_every_edge(wf: Workflow) -> None:
    order = topological_order(wf)
    assert sorted(order) == sorted(t.name for t in wf.tasks)
    position = {name: i for i, name in enumerate(order)}
    for task in wf.tasks:
        for up in task.upstream:
            assert position[up] < position[task.name]
    assert find_cycle(wf) is None


@settings(max_examples=60, deadline=None)
@given(dags())
def test_descendants_and_ancestors_mirror_each_other(wf: Workflow) -> None:
    names = [t.name for t in wf.tasks]
    for a in names:
        for b in names:
            assert (b in descendants(wf, a)) == (a in ancestors(wf, b))


@settings(max_examples=80, deadline=None)
@given(graphs())
def test_find_cycle_finds_a_real_cycle_exactly_when_one_exists(wf: Workflow) -> None:
    ups = upstream_map(wf)
    cycle = find_cycle(wf)
    if cycle is None:
        topological_order(wf)  # must not raise: the graph is acyclic
        return
    assert cycle[0] == cycle[-1] and len(cycle) >= 2
    assert len(set(cycle[:-1])) == len(cycle) - 1  # a simple cycle
    for before, after in zip(cycle, cycle[1:], strict=False):
        assert before in ups[after]
    with pytest.raises(SpecError):
        topological_order(wf)


@st.composite
def graphs_with_strays(draw: Any) -> dict[str, list[str]]:
    """A random upstream map, cycles and self-loops allowed, some edges to names that are no node."""
    n = draw(st.integers(1, 10))
    names = [f"t{i}" for i in range(n)]
    pool = [*names, "ghost"]
    return {name: draw(st.lists(st.sampled_from(pool), unique=True, max_size=4)) for name in names}


@settings(max_examples=150, deadline=None)
@given(graphs_with_strays(), st.sampled_from([1, 2, 4096]))
def test_upstream_pairs_answers_as_reachable_does(graph: dict[str, list[str]], bits: int) -> None:
    names = [*graph, "ghost"]
    pairs = [(a, b) for a in names for b in names]
    expected = {(a, b) for a, b in pairs if b in graph and a in reachable(graph, b)}
    # A few bits per pass make several passes: each must answer its own share.
    old = dag._BITS_PER_PASS
    dag._BITS_PER_PASS = bits
    try:
        assert upstream_pairs(graph, pairs) == expected
    finally:
        dag._BITS_PER_PASS = old


def test_upstream_pairs_on_a_long_chain_needs_no_recursion() -> None:
    n = 50_000
    graph = {f"t{i}": [f"t{i - 1}"] if i else [] for i in range(n)}
    assert upstream_pairs(graph, [("t0", f"t{n - 1}"), (f"t{n - 1}", "t0")]) == {("t0", f"t{n - 1}")}


def test_a_long_cycle_is_named_by_its_ends() -> None:
    cycle = [f"t{i}" for i in range(1000)] + ["t0"]
    message = cycle_message(cycle)
    assert message.startswith("cycle t0 -> t1 -> ")
    assert "-> … 981 more … ->" in message
    assert message.endswith("-> t998 -> t999 -> t0: remove one of these upstream links")
    assert cycle_message(["a", "b", "a"]) == "cycle a -> b -> a: remove one of these upstream links"
