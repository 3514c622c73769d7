import dagre from '@dagrejs/dagre';
import { MarkerType, type Edge, type Node } from '@xyflow/react';
import type { TaskSpec } from '../api/types';
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

/**
 * The DAG of a workflow's tasks, laid out left to right by dagre: one node per task (name and
 * type), one edge per upstream → task dependency.
 */
export function buildDag(tasks: readonly TaskSpec[]): Dag {
  const names = new Set(tasks.map((t) => t.name));
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 56, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const t of tasks) g.setNode(t.name, { width: NODE_WIDTH, height: NODE_HEIGHT });

  const edges: Edge[] = [];
  const missing: string[] = [];
  for (const t of tasks) {
    for (const up of upstreamOf(t)) {
      if (!names.has(up)) {
        missing.push(up);
        continue;
      }
      g.setEdge(up, t.name);
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
  dagre.layout(g);

  const nodes: TaskNode[] = tasks.map((t) => {
    const p = g.node(t.name);
    return {
      id: t.name,
      type: 'task',
      // dagre gives centres; React Flow wants top-left corners.
      position: { x: p.x - NODE_WIDTH / 2, y: p.y - NODE_HEIGHT / 2 },
      data: { name: t.name, type: t.type },
      draggable: false,
      connectable: false,
    };
  });
  return { nodes, edges, missing };
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
