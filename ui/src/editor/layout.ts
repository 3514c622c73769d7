// Where tasks sit on the editor's canvas: dagre's left-to-right layout (as the read-only DAG
// view), and a place for tasks that arrive without one (pasted, or typed into the YAML view).
import dagre from '@dagrejs/dagre';
import { NODE_HEIGHT, NODE_WIDTH } from '../dag/sizes';
import { edgesOf } from './spec';
import type { EditorDoc, XY } from './types';

export { NODE_HEIGHT, NODE_WIDTH };

/** What the layout needs: node ids and edges (plain data, so a worker can take it). */
export interface LayoutInput {
  ids: string[];
  edges: [string, string][];
}

export const layoutInput = (doc: EditorDoc): LayoutInput => ({
  ids: doc.tasks.map((t) => t.id),
  edges: edgesOf(doc).map((e) => [e.source, e.target]),
});

/** Every node's top-left corner, laid out left to right by dagre. */
export function layoutGraph({ ids, edges }: LayoutInput): Record<string, XY> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 70, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const id of ids) g.setNode(id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const [a, b] of edges) g.setEdge(a, b);
  dagre.layout(g);
  const out: Record<string, XY> = {};
  for (const id of ids) {
    const p = g.node(id);
    out[id] = { x: Math.round(p.x - NODE_WIDTH / 2), y: Math.round(p.y - NODE_HEIGHT / 2) };
  }
  return out;
}

/** Every task's position, laid out left to right by dagre. */
export function autoLayout(doc: EditorDoc): Record<string, XY> {
  return layoutGraph(layoutInput(doc));
}

/** Past this many tasks, dagre runs in a worker: on a 200-task DAG it takes long enough to
 * freeze the page (hundreds of milliseconds), and the page should stay responsive meanwhile. */
export const WORKER_AFTER = 60;

/** `autoLayout`, off the main thread for big workflows. */
export function autoLayoutAsync(doc: EditorDoc): Promise<Record<string, XY>> {
  const input = layoutInput(doc);
  if (input.ids.length <= WORKER_AFTER || typeof Worker === 'undefined') return Promise.resolve(layoutGraph(input));
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./layout.worker.ts', import.meta.url), { type: 'module' });
    const done = (positions: Record<string, XY>) => {
      worker.terminate();
      resolve(positions);
    };
    worker.onmessage = (e: MessageEvent<Record<string, XY>>) => done(e.data);
    // A worker that cannot start (a strict CSP): lay out here instead.
    worker.onerror = () => done(layoutGraph(input));
    worker.postMessage(input);
  });
}

/**
 * `positions` with a place for every task that has none: right of its upstream tasks when they
 * have places, else below everything. Tasks that have a place keep it.
 */
export function placeMissing(doc: EditorDoc, positions: Record<string, XY>): Record<string, XY> {
  const missing = doc.tasks.filter((t) => !positions[t.id]);
  if (missing.length === 0) {
    // Drop the places of tasks that are gone, so the map does not grow with every edit.
    const ids = new Set(doc.tasks.map((t) => t.id));
    return Object.keys(positions).every((id) => ids.has(id))
      ? positions
      : Object.fromEntries(Object.entries(positions).filter(([id]) => ids.has(id)));
  }
  const out: Record<string, XY> = {};
  for (const t of doc.tasks) if (positions[t.id]) out[t.id] = positions[t.id];
  const ups = new Map<string, string[]>();
  for (const e of edgesOf(doc)) ups.set(e.target, [...(ups.get(e.target) ?? []), e.source]);
  let bottom = Math.max(-NODE_HEIGHT - 40, ...Object.values(out).map((p) => p.y));
  const taken = (p: XY) => Object.values(out).some((q) => Math.abs(q.x - p.x) < NODE_WIDTH && Math.abs(q.y - p.y) < NODE_HEIGHT);
  for (const t of missing) {
    const placed = (ups.get(t.id) ?? []).map((id) => out[id]).filter(Boolean);
    let p: XY;
    if (placed.length > 0) {
      p = { x: Math.max(...placed.map((q) => q.x)) + NODE_WIDTH + 70, y: placed[0].y };
      while (taken(p)) p = { x: p.x, y: p.y + NODE_HEIGHT + 24 };
    } else {
      bottom += NODE_HEIGHT + 40;
      p = { x: 16, y: bottom };
    }
    out[t.id] = p;
    bottom = Math.max(bottom, p.y);
  }
  return out;
}
