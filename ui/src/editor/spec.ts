// The workflow spec as the editor holds it (`EditorDoc`) and back: key order kept, keys the
// editor does not show kept as they are. Edges are the tasks' `upstream` lists (a foreign spec's
// `depends_on` is read and written in place of it); switch and condition targets are kept in
// step when a task is renamed.
import type { EditorDoc, EditorTask, TaskSpecObject } from './types';

let counter = 0;
/** A new task id: stable while the task lives in this editor, never shown, never saved. */
export function newTaskId(): string {
  counter += 1;
  return `t${Date.now().toString(36)}${counter.toString(36)}`;
}

/** A new, empty workflow: a name to fill in, no tasks yet. */
export function emptyDoc(name = ''): EditorDoc {
  return { workflow: { name, tasks: null }, tasks: [] };
}

/** The editor's doc of a workflow spec (a parsed YAML or the API's `definition`). */
export function docFromSpec(spec: Record<string, unknown>, ids?: (task: TaskSpecObject, index: number) => string): EditorDoc {
  const workflow: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(spec)) workflow[k] = k === 'tasks' ? null : v;
  if (!('tasks' in workflow)) workflow.tasks = null;
  const list = Array.isArray(spec.tasks) ? spec.tasks : [];
  const tasks: EditorTask[] = list.map((t, i) => {
    const taskSpec = (t && typeof t === 'object' && !Array.isArray(t) ? t : {}) as TaskSpecObject;
    return { id: ids ? ids(taskSpec, i) : newTaskId(), spec: taskSpec };
  });
  return { workflow, tasks };
}

/** The workflow spec of the editor's doc, keys in their written order. */
export function specFromDoc(doc: EditorDoc): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc.workflow)) {
    if (k === 'tasks') out.tasks = doc.tasks.map((t) => t.spec);
    else if (v !== undefined) out[k] = v;
  }
  return out;
}

export function taskName(task: EditorTask | TaskSpecObject): string {
  const spec = 'spec' in task && typeof task.spec === 'object' ? (task as EditorTask).spec : (task as TaskSpecObject);
  return typeof spec.name === 'string' ? spec.name : '';
}

export function taskType(spec: TaskSpecObject): string {
  return typeof spec.type === 'string' ? spec.type : '';
}

/** Which key holds a task's upstream list: `upstream`, or `depends_on` in a spec that uses it. */
export function upstreamKey(spec: TaskSpecObject): 'upstream' | 'depends_on' {
  return !('upstream' in spec) && 'depends_on' in spec ? 'depends_on' : 'upstream';
}

/** A task's upstream task names, as written. */
export function upstreamOf(spec: TaskSpecObject): string[] {
  const ups = spec[upstreamKey(spec)];
  if (typeof ups === 'string') return [ups];
  return Array.isArray(ups) ? ups.filter((u): u is string => typeof u === 'string') : [];
}

/** `spec` with its upstream list set; an emptied list is removed (a default need not be written). */
export function withUpstream(spec: TaskSpecObject, ups: string[]): TaskSpecObject {
  const key = upstreamKey(spec);
  if (ups.length === 0) {
    const { [key]: _gone, ...rest } = spec;
    void _gone;
    return rest;
  }
  return withKey(spec, key, ups, ['name', 'type', 'description']);
}

/**
 * `obj` with `key` set to `value`, keeping the key's place if it exists; a new key goes right
 * after the last of `after` that `obj` has (else at the end). `undefined` removes the key.
 */
export function withKey<T extends Record<string, unknown>>(obj: T, key: string, value: unknown, after: readonly string[] = []): T {
  if (value === undefined) {
    if (!(key in obj)) return obj;
    const { [key]: _gone, ...rest } = obj;
    void _gone;
    return rest as T;
  }
  if (key in obj) return Object.is(obj[key], value) ? obj : { ...obj, [key]: value };
  const keys = Object.keys(obj);
  let at = -1;
  for (const a of after) at = Math.max(at, keys.indexOf(a));
  if (at < 0) return { ...obj, [key]: value };
  const out: Record<string, unknown> = {};
  keys.forEach((k, i) => {
    out[k] = obj[k];
    if (i === at) out[key] = value;
  });
  return out as T;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value at a dotted path (`resources.cpu`); numeric parts index arrays (`cases.0.when`). */
export function getIn(obj: unknown, path: readonly string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isPlainObject(cur)) cur = cur[p];
    else return undefined;
  }
  return cur;
}

/**
 * `obj` with the value at `path` set (`undefined` removes it). An object that an edit leaves
 * empty is removed with it, so clearing `resources.cpu` does not leave `resources: {}` behind.
 */
export function setIn<T extends Record<string, unknown>>(obj: T, path: readonly string[], value: unknown, after: readonly string[] = []): T {
  if (path.length === 0) return obj;
  const [head, ...rest] = path;
  if (rest.length === 0) return withKey(obj, head, value, after);
  const child = obj[head];
  if (Array.isArray(child)) {
    const i = Number(rest[0]);
    if (rest.length === 1 && Object.is(child[i], value)) return obj;
    const copy = [...child];
    if (rest.length === 1) {
      if (value === undefined) copy.splice(i, 1);
      else copy[i] = value;
    } else {
      const inner = setIn(isPlainObject(copy[i]) ? (copy[i] as Record<string, unknown>) : {}, rest.slice(1), value);
      if (inner === copy[i]) return obj;
      copy[i] = inner;
    }
    return withKey(obj, head, copy, after);
  }
  const base = isPlainObject(child) ? child : {};
  const next = setIn(base, rest, value);
  if (next === child) return obj;
  return withKey(obj, head, Object.keys(next).length === 0 && value === undefined ? undefined : next, after);
}

/** Keys of a switch or condition that name downstream tasks (kept in step on rename). */
function renameTargets(spec: TaskSpecObject, from: string, to: string): TaskSpecObject {
  let out = spec;
  const swap = (v: unknown): unknown => {
    if (v === from) return to;
    if (Array.isArray(v)) return v.map((x) => (x === from ? to : x));
    return v;
  };
  if (spec.type === 'switch') {
    if (Array.isArray(spec.cases)) {
      out = {
        ...out,
        cases: spec.cases.map((c) => (isPlainObject(c) && c.then === from ? { ...c, then: to } : c)),
      };
    }
    if (spec.default === from) out = { ...out, default: to };
  }
  if (spec.type === 'condition') {
    for (const k of ['success_branch', 'failure_branch']) {
      if (k in spec) out = { ...out, [k]: swap(spec[k]) };
    }
  }
  return out;
}

/** The doc with task `id` renamed to `to`, and every reference to its old name (upstream lists,
 * switch cases and default, condition branches) following it. */
export function renameTask(doc: EditorDoc, id: string, to: string): EditorDoc {
  const task = doc.tasks.find((t) => t.id === id);
  if (!task) return doc;
  const from = taskName(task);
  const tasks = doc.tasks.map((t) => {
    if (t.id === id) return { ...t, spec: withKey(t.spec, 'name', to) };
    if (!from || from === to) return t;
    let spec = t.spec;
    const ups = upstreamOf(spec);
    if (ups.includes(from)) spec = withUpstream(spec, ups.map((u) => (u === from ? to : u)));
    spec = renameTargets(spec, from, to);
    return spec === t.spec ? t : { ...t, spec };
  });
  return { ...doc, tasks };
}

/** A name not among `taken`, from `base`: `base`, then `base_2`, `base_3`, ... */
export function uniqueName(base: string, taken: ReadonlySet<string>): string {
  const clean = base.replace(/[^A-Za-z0-9_-]/g, '_').replace(/^[^A-Za-z_]/, '_$&') || 'task';
  if (!taken.has(clean)) return clean;
  const stem = clean.replace(/_\d+$/, '');
  for (let i = 2; ; i++) {
    const candidate = `${stem}_${i}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/** The names of every task of the doc. */
export function namesOf(doc: EditorDoc): Set<string> {
  return new Set(doc.tasks.map((t) => taskName(t)));
}

/** Edges as (upstream id → task id) pairs; upstream names that name no task are left out. */
export function edgesOf(doc: EditorDoc): { id: string; source: string; target: string }[] {
  const byName = new Map<string, string>();
  for (const t of doc.tasks) if (!byName.has(taskName(t))) byName.set(taskName(t), t.id);
  const out: { id: string; source: string; target: string }[] = [];
  for (const t of doc.tasks) {
    for (const up of upstreamOf(t.spec)) {
      const source = byName.get(up);
      if (source) out.push({ id: `${source}->${t.id}`, source, target: t.id });
    }
  }
  return out;
}

/** Whether adding the edge source → target would close a cycle (target reaches source). */
export function wouldCycle(doc: EditorDoc, sourceId: string, targetId: string): boolean {
  if (sourceId === targetId) return true;
  const children = new Map<string, string[]>();
  for (const e of edgesOf(doc)) children.set(e.source, [...(children.get(e.source) ?? []), e.target]);
  const seen = new Set<string>();
  const stack = [targetId];
  while (stack.length) {
    const n = stack.pop()!;
    if (n === sourceId) return true;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...(children.get(n) ?? []));
  }
  return false;
}
