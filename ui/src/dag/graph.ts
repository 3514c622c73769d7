import { MarkerType, type Edge, type Node } from '@xyflow/react';
import type { TaskSpec } from '../api/types';
import { layoutGraph, type LayoutInput, type XY } from './layout';
import { NODE_HEIGHT, NODE_WIDTH } from './sizes';

export { NODE_HEIGHT, NODE_WIDTH };

export interface TaskNodeData extends Record<string, unknown> {
  name: string;
  type: string;
  /** a display state (run view only). */
  state?: string;
  selected?: boolean;
}

export type TaskNode = Node<TaskNodeData, 'task'>;

export interface Dag {
  nodes: TaskNode[];
  edges: Edge[];
  /** upstream names that name no task of the workflow (drawn nowhere, listed for the user). */
  missing: string[];
}

/** The upstream task names of a task, as the spec writes them (`upstream`, or `depends_on`). */
export function upstreamOf(task: TaskSpec): string[] {
  const ups = task.upstream ?? task.depends_on ?? [];
  return Array.isArray(ups) ? ups.filter((u): u is string => typeof u === 'string') : [];
}

/** The read-only views' spacing (the editor's is wider). */
const VIEW_SPACING = { nodesep: 18, ranksep: 56, margin: 8 };

/** A DAG's nodes (not placed yet), edges, and what its layout needs. */
export interface DagParts extends Omit<Dag, 'nodes'> {
  tasks: readonly TaskSpec[];
  input: LayoutInput;
}

/** One edge per upstream → task dependency; upstream names that name no task are `missing`. */
export function dagParts(tasks: readonly TaskSpec[]): DagParts {
  const names = new Set(tasks.map((t) => t.name));
  const edges: Edge[] = [];
  const missing: string[] = [];
  for (const t of tasks) {
    for (const up of upstreamOf(t)) {
      if (!names.has(up)) {
        missing.push(up);
        continue;
      }
      edges.push({
        id: `${up}->${t.name}`,
        source: up,
        target: t.name,
        type: 'smoothstep',
        markerEnd: { type: MarkerType.ArrowClosed, width: 14, height: 14, color: '#98a2b3' },
        style: { stroke: '#98a2b3' },
      });
    }
  }
  const input: LayoutInput = {
    ids: tasks.map((t) => t.name),
    edges: edges.map((e) => [e.source, e.target]),
    spacing: VIEW_SPACING,
  };
  return { tasks, edges, missing, input };
}

/** The DAG with its nodes at `positions` (from `layoutGraph` of `parts.input`). */
export function placeDag(parts: DagParts, positions: Record<string, XY>): Dag {
  const nodes: TaskNode[] = parts.tasks.map((t) => ({
    id: t.name,
    type: 'task',
    position: positions[t.name],
    data: { name: t.name, type: t.type },
    draggable: false,
    connectable: false,
  }));
  return { nodes, edges: parts.edges, missing: parts.missing };
}

/**
 * The DAG of a workflow's tasks, laid out left to right by dagre: one node per task (name and
 * type), one edge per upstream → task dependency.
 */
export function buildDag(tasks: readonly TaskSpec[]): Dag {
  const parts = dagParts(tasks);
  return placeDag(parts, layoutGraph(parts.input));
}

/** Every task downstream of `task` (not including it), following the edges. */
export function downstreamOf(tasks: readonly TaskSpec[], task: string): string[] {
  const children = new Map<string, string[]>();
  for (const t of tasks) for (const up of upstreamOf(t)) children.set(up, [...(children.get(up) ?? []), t.name]);
  const seen = new Set<string>();
  const stack = [...(children.get(task) ?? [])];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...(children.get(n) ?? []));
  }
  return tasks.map((t) => t.name).filter((n) => seen.has(n));
}
