// Where a DAG's nodes sit: dagre's left-to-right layout, shared by the read-only views (workflow,
// run) and the editor. On a 200-task DAG dagre takes a few hundred milliseconds, so big graphs
// are laid out in a worker (the page stays responsive) and the read-only views keep each
// layout in localStorage: a DAG seen before opens at once.
import dagre from '@dagrejs/dagre';
import { NODE_HEIGHT, NODE_WIDTH } from './sizes';

export interface XY {
  x: number;
  y: number;
}

export interface Spacing {
  nodesep: number;
  ranksep: number;
  margin: number;
}

/** What the layout needs: node ids, edges and spacing (plain data, so a worker can take it). */
export interface LayoutInput {
  ids: string[];
  edges: [string, string][];
  spacing: Spacing;
}

/** Every node's top-left corner, laid out left to right by dagre. */
export function layoutGraph({ ids, edges, spacing }: LayoutInput): Record<string, XY> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({
    rankdir: 'LR',
    nodesep: spacing.nodesep,
    ranksep: spacing.ranksep,
    marginx: spacing.margin,
    marginy: spacing.margin,
    // Network simplex ranks best but is dagre's slowest step: on a 200-task DAG 'tight-tree'
    // halves the layout (about 550 -> 300 ms here) with ranks that read the same for pipelines.
    ranker: ids.length > WORKER_AFTER ? 'tight-tree' : 'network-simplex',
  });
  g.setDefaultEdgeLabel(() => ({}));
  for (const id of ids) g.setNode(id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const [a, b] of edges) g.setEdge(a, b);
  dagre.layout(g);
  const out: Record<string, XY> = {};
  for (const id of ids) {
    const p = g.node(id);
    // dagre gives centres; React Flow wants top-left corners.
    out[id] = { x: Math.round(p.x - NODE_WIDTH / 2), y: Math.round(p.y - NODE_HEIGHT / 2) };
  }
  return out;
}

/** Past this many nodes, dagre runs in a worker. */
export const WORKER_AFTER = 60;

/** `layoutGraph`, off the main thread for big graphs. */
export function layoutAsync(input: LayoutInput): Promise<Record<string, XY>> {
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

// -- the read-only views' cache ------------------------------------------------------------------

const PREFIX = 'shoal.layout.';
const INDEX = 'shoal.layouts'; // the cached keys, oldest first
const KEEP = 40;

/** FNV-1a of the graph: the same tasks, edges and spacing lay out the same way. */
export function layoutKey(input: LayoutInput): string {
  const text = JSON.stringify(input);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return `${PREFIX}${(h >>> 0).toString(36)}.${input.ids.length}`;
}

/** A layout laid out before (in this browser) for exactly this graph, if any. */
export function cachedLayout(input: LayoutInput): Record<string, XY> | null {
  try {
    const text = localStorage.getItem(layoutKey(input));
    if (!text) return null;
    const positions = JSON.parse(text) as Record<string, XY>;
    // A hash collision or a hand-edited entry: use it only if it places every node.
    return input.ids.every((id) => positions[id]) ? positions : null;
  } catch {
    return null;
  }
}

export function rememberLayout(input: LayoutInput, positions: Record<string, XY>): void {
  // Small graphs lay out in milliseconds: not worth the storage.
  if (input.ids.length <= WORKER_AFTER) return;
  try {
    const key = layoutKey(input);
    const keys = (JSON.parse(localStorage.getItem(INDEX) ?? '[]') as string[]).filter((k) => k !== key);
    keys.push(key);
    while (keys.length > KEEP) localStorage.removeItem(keys.shift() as string);
    localStorage.setItem(key, JSON.stringify(positions));
    localStorage.setItem(INDEX, JSON.stringify(keys));
  } catch {
    // Storage full or refused (private mode): the layout is only not remembered.
  }
}
