"""Pure graph helpers over a workflow's tasks and their `upstream` edges.

An edge `a -> b` means `b` lists `a` in its `upstream`: `a` runs first. Upstream names that are
not tasks of the workflow are ignored here (validation reports them), and when two tasks share a
name the first definition wins, so these helpers never fail on a workflow that is still being
validated. Only `topological_order` needs an acyclic graph.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from shoal.errors import NotFound
from shoal.spec.errors import Problem, SpecError
from shoal.spec.models import Workflow

Graph = Mapping[str, Sequence[str]]  # task -> its upstream tasks


def upstream_map(wf: Workflow) -> dict[str, list[str]]:
    """Task name -> its direct upstream tasks (known tasks only, no repeats), in definition order."""
    graph: dict[str, list[str]] = {}
    for task in wf.tasks:
        # On a duplicate name the first definition's edges are the ones used.
        graph.setdefault(task.name, list(dict.fromkeys(task.upstream)))
    return _clean(graph)


def _clean(graph: Graph) -> dict[str, list[str]]:
    """Drops edges to names that are not nodes of the graph."""
    return {name: [u for u in ups if u in graph] for name, ups in graph.items()}


def downstream_map(wf: Workflow) -> dict[str, list[str]]:
    """Task name -> the tasks that list it as upstream, in definition order."""
    return invert(upstream_map(wf))


def invert(graph: Graph) -> dict[str, list[str]]:
    """Upstream map -> downstream map (or back)."""
    out: dict[str, list[str]] = {name: [] for name in graph}
    for name, ups in graph.items():
        for up in ups:
            if up in out:
                out[up].append(name)
    return out


def topological_order(wf: Workflow) -> list[str]:
    """Every task, each after its upstream; among ready tasks higher priority first, then file order.

    Raises SpecError naming the cycle when there is one.
    """
    graph = upstream_map(wf)
    priority: dict[str, int] = {}
    for t in wf.tasks:
        priority.setdefault(t.name, t.priority)
    position = {name: i for i, name in enumerate(graph)}
    order = sort_graph(graph, key=lambda n: (-priority[n], position[n]))
    if order is None:
        cycle = find_cycle_in(graph) or []
        raise SpecError([Problem(None, None, cycle[0] if cycle else None, "upstream", cycle_message(cycle))])
    return order


def sort_graph(graph: Graph, key: Callable[[str], Any] | None = None) -> list[str] | None:
    """Kahn's algorithm; `key(name)` orders ready nodes (default: graph order). None if cyclic."""
    graph = _clean(graph)
    position = {name: i for i, name in enumerate(graph)}
    sort_key = key or position.__getitem__
    downstream = invert(graph)
    waiting = {name: len(ups) for name, ups in graph.items()}
    ready = [(sort_key(n), n) for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(name)
        for down in downstream[name]:
            waiting[down] -= 1
            if waiting[down] == 0:
                heapq.heappush(ready, (sort_key(down), down))
    return order if len(order) == len(graph) else None


def find_cycle(wf: Workflow) -> list[str] | None:
    """A cycle in flow order, first task repeated at the end (e.g. ['a', 'b', 'c', 'a']), or None."""
    return find_cycle_in(upstream_map(wf))


def find_cycle_in(graph: Graph) -> list[str] | None:
    """`find_cycle` over a plain upstream map (unknown names ignored)."""
    downstream = invert(graph)
    # Iterative DFS with colours: a grey node met again closes a cycle along the current path.
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    for root in graph:
        if colour[root] != white:
            continue
        path: list[str] = [root]
        stack = [iter(downstream[root])]
        colour[root] = grey
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                colour[path.pop()] = black
                stack.pop()
            elif colour[nxt] == grey:
                return path[path.index(nxt):] + [nxt]
            elif colour[nxt] == white:
                colour[nxt] = grey
                path.append(nxt)
                stack.append(iter(downstream[nxt]))
    return None


def cycle_message(cycle: Sequence[str]) -> str:
    return f"cycle {' -> '.join(cycle)}: remove one of these upstream links"


def descendants(wf: Workflow, task: str, *, include_self: bool = True) -> set[str]:
    """`task` and every task downstream of it (what "rerun from task" reruns)."""
    return _reach(downstream_map(wf), task, include_self, wf.name)


def ancestors(wf: Workflow, task: str, *, include_self: bool = True) -> set[str]:
    """`task` and every task upstream of it (the tasks whose outputs it may read)."""
    return _reach(upstream_map(wf), task, include_self, wf.name)


def reachable(graph: Graph, start: str) -> set[str]:
    """Every node reachable from `start` along `graph`'s edges, excluding `start` unless on a cycle."""
    seen: set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        name = todo.pop()
        if name not in seen and name in graph:
            seen.add(name)
            todo.extend(graph[name])
    return seen


def _reach(graph: Graph, task: str, include_self: bool, workflow: str) -> set[str]:
    if task not in graph:
        raise NotFound(f"workflow {workflow!r} has no task {task!r}")
    found = reachable(graph, task)
    if include_self:
        found.add(task)
    else:
        found.discard(task)
    return found
