// The editor's own checks, run on every change so problems show on the field and on the node
// before saving: each task against the common keys' schema and its type's params schema (ajv,
// draft 2020-12 as pydantic writes it, coercing as pydantic's lax mode does), then the checks
// of the workflow as a whole (names, edges, cycles, switch and condition targets).
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import { edgesOf, taskName, taskType, upstreamOf } from './spec';
import type { EditorDoc, JsonSchema, TaskSpecObject, TaskTypeCatalog, TaskTypeItem } from './types';

export interface Problem {
  /** the task's editor id; absent for a problem of the workflow itself. */
  taskId?: string;
  /** the field's path, dotted (`resources.cpu`, `cases.0.then`); `name` for the task's name. */
  field?: string;
  message: string;
}

export interface Validation {
  problems: Problem[];
  /** per task id, its problems. */
  byTask: Map<string, Problem[]>;
  /** problems of the workflow's own keys (name, params) and of the workflow as a whole. */
  workflow: Problem[];
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const NAME_RULE = 'use letters, digits, _ and -, starting with a letter or _';
const TYPE_WORDS: Record<string, string> = {
  integer: 'a whole number',
  number: 'a number',
  string: 'text',
  array: 'a list',
  object: 'a mapping (key: value)',
  boolean: 'true or false',
  null: 'empty',
};

// Which of several errors on one field to show: the most telling one.
const PRIORITY: Record<string, number> = {
  required: 9,
  additionalProperties: 9,
  minimum: 8,
  maximum: 8,
  exclusiveMinimum: 8,
  exclusiveMaximum: 8,
  minItems: 8,
  maxItems: 8,
  minLength: 8,
  maxLength: 8,
  enum: 7,
  const: 6,
  pattern: 5,
  type: 2,
  anyOf: 0,
  oneOf: 0,
};

function patternWords(pattern: string): string {
  if (pattern === NAME_RE.source) return NAME_RULE;
  if (pattern.includes('ms|s|m|h|d')) return 'use seconds or a duration with a unit, e.g. 30s, 5m, 2h';
  if (pattern.includes('Ki|Mi|Gi')) return 'use bytes or a size with a unit, e.g. 512Mi or 2Gi';
  return `does not have the expected form (${pattern})`;
}

/** An ajv error in plain words. */
export function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return 'required';
    case 'additionalProperties':
      return `unknown key ${String(p.additionalProperty)}`;
    case 'minimum':
      return `must be at least ${p.limit}`;
    case 'maximum':
      return `must be at most ${p.limit}`;
    case 'exclusiveMinimum':
      return `must be greater than ${p.limit}`;
    case 'exclusiveMaximum':
      return `must be less than ${p.limit}`;
    case 'minItems':
      return Number(p.limit) === 1 ? 'needs at least one entry' : `needs at least ${p.limit} entries`;
    case 'maxItems':
      return `takes at most ${p.limit} entries`;
    case 'minLength':
      return Number(p.limit) === 1 ? 'must not be empty' : `needs at least ${p.limit} characters`;
    case 'maxLength':
      return `must be at most ${p.limit} characters`;
    case 'enum':
      return `must be one of: ${(p.allowedValues as unknown[]).map(String).join(', ')}`;
    case 'const':
      return `must be ${String(p.allowedValue)}`;
    case 'pattern':
      return patternWords(String(p.pattern));
    case 'type':
      return `must be ${String(p.type)
        .split(',')
        .map((t) => TYPE_WORDS[t] ?? t)
        .join(' or ')}`;
    default:
      return e.message ?? 'is not valid';
  }
}

/** The dotted field path an ajv error is about (a missing or unknown key's own path). */
function pathOf(e: ErrorObject): string {
  const base = e.instancePath.split('/').filter(Boolean).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'required') base.push(String(p.missingProperty));
  if (e.keyword === 'additionalProperties') base.push(String(p.additionalProperty));
  return base.join('.');
}

/** One problem per field: the most telling of the field's errors. */
export function problemsOfErrors(errors: readonly ErrorObject[], prefix = ''): Problem[] {
  const best = new Map<string, ErrorObject>();
  for (const e of errors) {
    const path = prefix + pathOf(e);
    const cur = best.get(path);
    if (!cur || (PRIORITY[e.keyword] ?? 4) > (PRIORITY[cur.keyword] ?? 4)) best.set(path, e);
  }
  return [...best].map(([field, e]) => ({ field: field || undefined, message: describe(e) }));
}

/** Server problems name array items as `cases[0].when`; the editor as `cases.0.when`. */
export function normalizeField(field: string): string {
  return field.replace(/\[(\d+)\]/g, '.$1').replace(/^\./, '');
}

/** The checks of one editor session: compiled schemas and per-task results are kept. */
export class Validator {
  private readonly ajv = new Ajv2020({ allErrors: true, strict: false, coerceTypes: 'array', validateFormats: false });
  private readonly common: ValidateFunction | null;
  private readonly commonKeys: Set<string>;
  private readonly types = new Map<string, TaskTypeItem>();
  private readonly compiled = new Map<string, ValidateFunction | null>();
  private readonly perTask = new WeakMap<TaskSpecObject, Problem[]>();

  constructor(readonly catalog: TaskTypeCatalog) {
    this.common = this.compile(catalog.common);
    this.commonKeys = new Set(Object.keys(catalog.common.properties ?? {}));
    for (const t of catalog.items) this.types.set(t.name, t);
  }

  private compile(schema: JsonSchema | null): ValidateFunction | null {
    if (!schema) return null;
    try {
      return this.ajv.compile(schema);
    } catch {
      return null; // a schema ajv cannot read: the server still checks on save
    }
  }

  typeInfo(name: string): TaskTypeItem | undefined {
    return this.types.get(name);
  }

  isCommonKey(key: string): boolean {
    return this.commonKeys.has(key);
  }

  /** The problems of one task on its own (its keys against the schemas); cached per spec object. */
  taskProblems(spec: TaskSpecObject): Problem[] {
    const cached = this.perTask.get(spec);
    if (cached) return cached;
    const out: Problem[] = [];
    const name = spec.name;
    if (typeof name !== 'string' || name === '') out.push({ field: 'name', message: 'give the task a name' });
    else if (!NAME_RE.test(name)) out.push({ field: 'name', message: NAME_RULE });
    else if (name.length > 128) out.push({ field: 'name', message: 'must be at most 128 characters' });
    const common: Record<string, unknown> = {};
    const own: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(spec)) (this.commonKeys.has(k) ? common : own)[k] = v;
    if (this.common && !this.common(structuredClone(common))) {
      out.push(...problemsOfErrors(this.common.errors ?? []).filter((p) => p.field !== 'name'));
    }
    const type = taskType(spec);
    const info = this.types.get(type);
    if (!type) out.push({ field: 'type', message: 'a task needs a type' });
    else if (!info) {
      out.push({ field: 'type', message: `unknown task type ${type}: the installed types are in the palette` });
    } else if (!info.available) {
      out.push({
        field: 'type',
        message: `${type} is not available on this server: ${info.extra ? info.extra.install : (info.problem ?? 'its module cannot be loaded')}`,
      });
    } else {
      if (!this.compiled.has(type)) this.compiled.set(type, this.compile(info.params_schema));
      const check = this.compiled.get(type);
      if (check && !check(structuredClone(own))) out.push(...problemsOfErrors(check.errors ?? []));
    }
    this.perTask.set(spec, out);
    return out;
  }

  /** Every problem of the workflow. */
  validate(doc: EditorDoc): Validation {
    const byTask = new Map<string, Problem[]>();
    const add = (id: string, p: Problem) => byTask.set(id, [...(byTask.get(id) ?? []), { ...p, taskId: id }]);
    for (const t of doc.tasks) for (const p of this.taskProblems(t.spec)) add(t.id, p);

    const workflow: Problem[] = [];
    const wfName = doc.workflow.name;
    if (typeof wfName !== 'string' || wfName === '') workflow.push({ field: 'workflow.name', message: 'give the workflow a name' });
    else if (!NAME_RE.test(wfName)) workflow.push({ field: 'workflow.name', message: NAME_RULE });
    if (doc.tasks.length === 0) workflow.push({ message: 'add at least one task: drag a task type from the palette onto the canvas' });

    const counts = new Map<string, number>();
    for (const t of doc.tasks) counts.set(taskName(t), (counts.get(taskName(t)) ?? 0) + 1);
    const names = new Set(counts.keys());
    for (const t of doc.tasks) {
      const n = taskName(t);
      if (n && (counts.get(n) ?? 0) > 1) add(t.id, { field: 'name', message: `another task is also named ${n}: names must be unique` });
      for (const up of upstreamOf(t.spec)) {
        if (!names.has(up)) add(t.id, { field: 'upstream', message: `upstream task ${up} does not exist` });
      }
    }
    for (const id of cycleMembers(doc)) add(id, { message: 'is part of a cycle: a workflow must not loop back on itself' });
    this.branchTargets(doc, add);

    const problems = [...workflow, ...[...byTask.values()].flat()];
    return { problems, byTask, workflow };
  }

  /** A switch's `then`/`default` and a condition's branches must be its direct downstream tasks. */
  private branchTargets(doc: EditorDoc, add: (id: string, p: Problem) => void): void {
    const downstream = new Map<string, Set<string>>();
    for (const t of doc.tasks) {
      for (const up of upstreamOf(t.spec)) downstream.set(up, new Set([...(downstream.get(up) ?? []), taskName(t)]));
    }
    for (const t of doc.tasks) {
      const below = downstream.get(taskName(t)) ?? new Set<string>();
      const check = (target: unknown, field: string) => {
        if (typeof target !== 'string' || target === '') return;
        if (!below.has(target)) {
          add(t.id, { field, message: `${target} is not a downstream task of ${taskName(t)}: connect ${taskName(t)} → ${target} first` });
        }
      };
      if (t.spec.type === 'switch') {
        if (Array.isArray(t.spec.cases)) {
          t.spec.cases.forEach((c, i) => check((c as Record<string, unknown> | null)?.then, `cases.${i}.then`));
        }
        check(t.spec.default, 'default');
      }
      if (t.spec.type === 'condition') {
        for (const k of ['success_branch', 'failure_branch']) {
          const v = t.spec[k];
          (Array.isArray(v) ? v : [v]).forEach((x) => check(x, k));
        }
      }
    }
  }
}

/** The ids of tasks on a cycle: what is left once tasks with no upstream (Kahn's algorithm) and
 * then tasks with no downstream are peeled off, so tasks merely below or above a cycle are not
 * blamed. */
export function cycleMembers(doc: EditorDoc): string[] {
  const edges = edgesOf(doc);
  let left = new Set(doc.tasks.map((t) => t.id));
  for (const [from, to] of [
    ['target', 'source'],
    ['source', 'target'],
  ] as const) {
    const degree = new Map([...left].map((id) => [id, 0]));
    const next = new Map<string, string[]>();
    for (const e of edges) {
      if (!left.has(e.source) || !left.has(e.target)) continue;
      degree.set(e[from], (degree.get(e[from]) ?? 0) + 1);
      next.set(e[to], [...(next.get(e[to]) ?? []), e[from]]);
    }
    const queue = [...degree].filter(([, d]) => d === 0).map(([id]) => id);
    while (queue.length) {
      const id = queue.pop()!;
      degree.delete(id);
      for (const n of next.get(id) ?? []) {
        const d = (degree.get(n) ?? 0) - 1;
        degree.set(n, d);
        if (d === 0) queue.push(n);
      }
    }
    left = new Set(degree.keys());
  }
  return [...left];
}

/** `problems` as field → message (the first per field), for a form. */
export function byField(problems: readonly Problem[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of problems ?? []) if (p.field && !(p.field in out)) out[p.field] = p.message;
  return out;
}
