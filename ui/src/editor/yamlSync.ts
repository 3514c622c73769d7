// YAML text ⇄ workflow spec, read as `shoal apply` reads it (PyYAML, YAML 1.1): `yes`/`no`/`on`
// are booleans, so a string that reads like one is written quoted. Dates are read as text (the
// editor never turns a date into a JS timestamp) and written quoted, as any text that PyYAML
// would read as something else: a param "2024-01-01" stays text, and a schedule's start in
// quotes is the same date to the server.
import { Document, isMap, parseDocument, type Tags } from 'yaml';
import { docFromSpec, newTaskId, taskName } from './spec';
import type { EditorDoc } from './types';

const noTimestamps = (tags: Tags) => tags.filter((t) => (t as { tag?: string }).tag !== 'tag:yaml.org,2002:timestamp');
const READ = { version: '1.1' as const, customTags: noTimestamps };
// Writing knows the timestamp tag, so that a date-like string is quoted.
const WRITE = { version: '1.1' as const };

export interface YamlProblem {
  message: string;
  /** 1-based line of the problem, when known. */
  line: number | null;
}

export type ParseResult = { ok: true; spec: Record<string, unknown> } | { ok: false; problem: YamlProblem };

/** The workflow spec of a YAML text, or why it is not one (with the line). */
export function parseYaml(text: string): ParseResult {
  const doc = parseDocument(text, { ...READ, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line ?? null;
    const first = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    return { ok: false, problem: { message: first, line } };
  }
  if (!isMap(doc.contents)) {
    return { ok: false, problem: { message: 'a workflow is a mapping: name, tasks, ...', line: 1 } };
  }
  const spec = doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown>;
  const lineOf = (key: string): number | null => {
    const pair = (doc.contents as { items: { key: { value?: unknown; range?: [number, number, number] } }[] }).items.find(
      (p) => p.key?.value === key,
    );
    const offset = pair?.key?.range?.[0];
    return offset == null ? null : text.slice(0, offset).split('\n').length;
  };
  if ('tasks' in spec && !Array.isArray(spec.tasks)) {
    return { ok: false, problem: { message: 'tasks must be a list of tasks (each "- name: ...")', line: lineOf('tasks') } };
  }
  const tasks = Array.isArray(spec.tasks) ? spec.tasks : [];
  const bad = tasks.findIndex((t) => !t || typeof t !== 'object' || Array.isArray(t));
  if (bad >= 0) {
    return { ok: false, problem: { message: `task ${bad + 1} is not a mapping (name: ..., type: ...)`, line: lineOf('tasks') } };
  }
  return { ok: true, spec };
}

/** The YAML text of a workflow spec, keys in their order. */
export function toYaml(spec: Record<string, unknown>): string {
  const doc = new Document(spec, WRITE);
  return doc.toString({ lineWidth: 0, indentSeq: true });
}

/**
 * The doc of an edited YAML text, given the doc it replaces: a task keeps its id when a task of
 * the same name was there (so it keeps its place on the canvas), new tasks get new ids.
 */
export function docFromYaml(spec: Record<string, unknown>, previous: EditorDoc): EditorDoc {
  const byName = new Map<string, string>();
  for (const t of previous.tasks) if (!byName.has(taskName(t))) byName.set(taskName(t), t.id);
  const used = new Set<string>();
  return docFromSpec(spec, (task) => {
    const name = typeof task.name === 'string' ? task.name : '';
    const id = byName.get(name);
    if (id && !used.has(id)) {
      used.add(id);
      return id;
    }
    return newTaskId();
  });
}
