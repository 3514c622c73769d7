"""Pure graph helpers over a workflow's tasks and their `upstream` edges.

An edge `a -> b` means `b` lists `a` in its `upstream`: `a` runs first. Upstream names that are
not tasks of the workflow are ignored here (validation reports them), and when two tasks share a
name the first definition wins, so these helpers never fail on a workflow that is still being
validated. Only `topological_order` needs an acyclic graph.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    """"cycle a -> b -> a: ..."; a long cycle shows its ends (the first link is the one reported)."""
    shown = list(cycle)
    if len(shown) > _CYCLE_SHOWN:
        head, tail = shown[:_CYCLE_SHOWN - 5], shown[-5:]
        shown = [*head, f"… {len(cycle) - len(head) - len(tail):,} more …", *tail]
    return f"cycle {' -> '.join(shown)}: remove one of these upstream links"


_CYCLE_SHOWN = 20  # tasks a cycle message names


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


def upstream_pairs(graph: Graph, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The pairs `(a, b)` of `pairs` where `a` is upstream (transitively) of `b`, i.e. where
    `a in reachable(graph, b)`, all answered together.

    Asking `reachable` once per reading task costs O(tasks) each, O(tasks²) in all: minutes for
    a 20,000-task chain. Here the graph is condensed into its strongly connected components
    (so a cyclic graph, which validation is still reporting, is answered too), and the upstream
    tasks asked about are pushed down the components in topological order as bits of a Python
    int, `_BITS_PER_PASS` of them per pass: O((tasks + edges) * ceil(asked / _BITS_PER_PASS))
    big-int operations, one pass for up to that many distinct upstream tasks.
    """
    wanted = [(a, b) for a, b in dict.fromkeys(pairs) if a in graph and b in graph]
    if not wanted:
        return set()
    comp, comp_ups, cyclic = _condense(graph)
    found: set[tuple[str, str]] = set()
    rest: list[tuple[str, str]] = []
    for a, b in wanted:
        if comp[a] != comp[b]:
            rest.append((a, b))
        elif a != b or cyclic[comp[a]]:  # one component: each reaches the other (or itself)
            found.add((a, b))
    asked = list(dict.fromkeys(comp[a] for a, _ in rest))
    for start in range(0, len(asked), _BITS_PER_PASS):
        bit = {c: 1 << i for i, c in enumerate(asked[start:start + _BITS_PER_PASS])}
        # above[c]: the bits of the asked components strictly upstream of component c.
        above: list[int] = [0] * len(comp_ups)
        for c, ups in enumerate(comp_ups):  # components come upstream first
            mask = 0
            for u in ups:
                mask |= above[u] | bit.get(u, 0)
            above[c] = mask
        for a, b in rest:
            ca = comp[a]
            if ca in bit and above[comp[b]] & bit[ca]:
                found.add((a, b))
    return found


# Upstream tasks answered per pass of `upstream_pairs`: each pass holds one int of up to this
# many bits per component (20,000 components x 4,096 bits is at most 10 MB).
_BITS_PER_PASS = 4096


def _condense(graph: Graph) -> tuple[dict[str, int], list[list[int]], list[bool]]:
    """Strongly connected components of `graph` (Tarjan's algorithm, iterative).

    Returns each node's component, each component's upstream components (without itself) and
    whether it holds a cycle (more than one node, or a node upstream of itself). Components are
    numbered upstream first: Tarjan closes a component only after every one it reaches along the
    edges, which point upstream.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    comp: dict[str, int] = {}
    members: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(graph[root]))]
        while work:
            node, edges = work[-1]
            for up in edges:
                if up not in graph:
                    continue
                if up not in index:
                    index[up] = low[up] = len(index)
                    stack.append(up)
                    on_stack.add(up)
                    work.append((up, iter(graph[up])))
                    break
                if up in on_stack:
                    low[node] = min(low[node], index[up])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        comp[member] = len(members)
                        group.append(member)
                        if member == node:
                            break
                    members.append(group)
    comp_ups: list[list[int]] = []
    cyclic: list[bool] = []
    for c, group in enumerate(members):
        ups = {comp[u] for name in group for u in graph[name] if u in comp}
        cyclic.append(len(group) > 1 or c in ups)
        ups.discard(c)
        comp_ups.append(list(ups))
    return comp, comp_ups, cyclic


def _reach(graph: Graph, task: str, include_self: bool, workflow: str) -> set[str]:
    if task not in graph:
        raise NotFound(f"workflow {workflow!r} has no task {task!r}")
    found = reachable(graph, task)
    if include_self:
        found.add(task)
    else:
        found.discard(task)
    return found
