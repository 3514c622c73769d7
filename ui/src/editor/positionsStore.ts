// Where the tasks of a saved workflow sat on the canvas, kept in this browser by task name: the
// workflow format has no place for layout, so positions are the editor's, not the workflow's.
import type { XY } from './types';

const key = (project: string, name: string) => `shoal.editor.layout.${project}/${name}`;

export function loadPositions(project: string, name: string): Record<string, XY> {
  try {
    const raw = localStorage.getItem(key(project, name));
    const parsed: unknown = raw ? JSON.parse(raw) : null;
    if (!parsed || typeof parsed !== 'object') return {};
    const out: Record<string, XY> = {};
    for (const [task, p] of Object.entries(parsed as Record<string, unknown>)) {
      const q = p as Partial<XY> | null;
      if (q && typeof q.x === 'number' && typeof q.y === 'number') out[task] = { x: q.x, y: q.y };
    }
    return out;
  } catch {
    return {};
  }
}

export function savePositions(project: string, name: string, byName: Record<string, XY>): void {
  try {
    localStorage.setItem(key(project, name), JSON.stringify(byName));
  } catch {
    // storage full or disabled: the next visit lays the workflow out again
  }
}
