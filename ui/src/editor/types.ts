// Shapes the editor works with: the task-type catalog the API answers, JSON Schema as pydantic
// emits it, and the workflow being edited.

/** A JSON Schema node, as pydantic (draft 2020-12) writes it; only what the editor reads is typed. */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  [key: string]: unknown;
}

export interface TaskTypeGroup {
  name: string;
  title: string;
}

export interface TaskTypeExtra {
  name: string;
  missing: string[];
  install: string;
}

export interface TaskTypeItem {
  name: string;
  group: string;
  description: string;
  kind: string | null;
  available: boolean;
  trigger_rule: string | null;
  source: string;
  /** the JSON Schema of the type's own keys (beside the common ones); null when unreadable. */
  params_schema: JsonSchema | null;
  extra: TaskTypeExtra | null;
  problem: string | null;
}

export interface TaskTypeCatalog {
  groups: TaskTypeGroup[];
  /** the JSON Schema of the keys every task has (name, type, upstream, retries, ...). */
  common: JsonSchema;
  items: TaskTypeItem[];
}

/** A task as the YAML writes it: common keys and its type's keys side by side. */
export type TaskSpecObject = Record<string, unknown> & { name?: unknown; type?: unknown };

export interface XY {
  x: number;
  y: number;
}

/** One task on the canvas: a stable id (survives renames) and its spec, key order as written. */
export interface EditorTask {
  id: string;
  spec: TaskSpecObject;
}

/**
 * The workflow being edited. `workflow` holds every top-level key in its written order (the
 * `tasks` key included, as a placeholder, so it is written back where it stood); `tasks` the
 * tasks in order. Keys the editor does not show are kept as they are.
 */
export interface EditorDoc {
  workflow: Record<string, unknown>;
  tasks: EditorTask[];
}
