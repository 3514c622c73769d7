// Where tasks sit on the editor's canvas: dagre's left-to-right layout (as the read-only DAG
// view), and a place for tasks that arrive without one (pasted, or typed into the YAML view).
import { layoutAsync, layoutGraph, type LayoutInput } from '../dag/layout';
import { NODE_HEIGHT, NODE_WIDTH } from '../dag/sizes';
import { edgesOf } from './spec';
import type { EditorDoc, XY } from './types';

export { NODE_HEIGHT, NODE_WIDTH };

/** The editor spaces its nodes a little wider than the read-only views: room to aim at handles. */
const EDITOR_SPACING = { nodesep: 24, ranksep: 70, margin: 16 };

export const layoutInput = (doc: EditorDoc): LayoutInput => ({
  ids: doc.tasks.map((t) => t.id),
  edges: edgesOf(doc).map((e) => [e.source, e.target]),
  spacing: EDITOR_SPACING,
});

/** Every task's position, laid out left to right by dagre. */
export function autoLayout(doc: EditorDoc): Record<string, XY> {
  return layoutGraph(layoutInput(doc));
}

/** `autoLayout`, off the main thread for big workflows. */
export function autoLayoutAsync(doc: EditorDoc): Promise<Record<string, XY>> {
  return layoutAsync(layoutInput(doc));
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
