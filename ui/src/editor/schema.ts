// Reading JSON Schema as pydantic emits it, for the form renderer: `$ref` into `$defs`,
// `anyOf: [X, {type: null}]` for optional fields, `allOf: [{$ref}]` wrappers, enums and literals,
// and which fields hold code (a `format` of sql/shell/python, or a name such as `command`).
import type { JsonSchema } from './types';

export type CodeLanguage = 'sql' | 'shell' | 'python';

export type FieldKind =
  | { kind: 'enum'; options: unknown[] }
  | { kind: 'boolean' }
  | { kind: 'integer' }
  | { kind: 'number' }
  | { kind: 'string' }
  | { kind: 'code'; language: CodeLanguage }
  /** a quantity written as a number or as text with a unit (durations, memory): a text box. */
  | { kind: 'numberOrText' }
  /** one name or a list of names (e.g. a condition's branch): a comma-separated text box. */
  | { kind: 'stringOrList' }
  | { kind: 'stringList' }
  | { kind: 'object'; schema: JsonSchema }
  | { kind: 'dict'; values: JsonSchema }
  | { kind: 'objectList'; items: JsonSchema }
  /** anything else: edited as JSON text. */
  | { kind: 'json' };

export interface Field {
  name: string;
  /** the field's schema with `$ref`, `allOf` and the null of optionals taken away. */
  schema: JsonSchema;
  required: boolean;
  /** `null` is allowed (pydantic's `X | None`). */
  nullable: boolean;
  kind: FieldKind;
}

const CODE_FORMATS: readonly string[] = ['sql', 'shell', 'python'];
const CODE_NAMES: Record<string, CodeLanguage> = {
  sql: 'sql',
  query: 'sql',
  command: 'shell',
  script: 'python',
  code: 'python',
};

/** `schema` with a `$ref` (or a one-element `allOf` of a `$ref`) replaced by what it names. */
export function deref(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let s = schema;
  for (let guard = 0; guard < 16; guard++) {
    if (s.$ref) {
      const target = lookup(s.$ref, root);
      const { $ref: _ignored, ...rest } = s;
      void _ignored;
      s = { ...target, ...rest };
      continue;
    }
    if (s.allOf && s.allOf.length === 1) {
      const { allOf, ...rest } = s;
      s = { ...allOf[0], ...rest };
      continue;
    }
    break;
  }
  return s;
}

function lookup(ref: string, root: JsonSchema): JsonSchema {
  const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  const defs = (m ? (root[m[1]] as Record<string, JsonSchema> | undefined) : undefined) ?? {};
  return (m && defs[decodeURIComponent(m[2])]) || {};
}

const isNull = (s: JsonSchema) => s.type === 'null';

/** The variants of a union other than null, and whether null was one of them. */
export function unionParts(schema: JsonSchema, root: JsonSchema): { parts: JsonSchema[]; nullable: boolean } {
  const variants = schema.anyOf ?? schema.oneOf;
  if (!variants) {
    if (Array.isArray(schema.type)) {
      const types = schema.type.filter((t) => t !== 'null');
      return { parts: types.map((t) => ({ ...schema, type: t })), nullable: schema.type.includes('null') };
    }
    return { parts: [schema], nullable: false };
  }
  const parts = variants.map((v) => deref(v, root)).filter((v) => !isNull(v));
  return { parts, nullable: parts.length < variants.length };
}

/** The field `name` of an object schema, resolved for the form. */
export function fieldOf(name: string, raw: JsonSchema, root: JsonSchema, required: boolean): Field {
  const outer = deref(raw, root);
  const { parts, nullable } = unionParts(outer, root);
  const { anyOf: _a, oneOf: _o, ...outerRest } = outer;
  void _a;
  void _o;
  // One real variant: the field is that variant, with the outer description and default.
  const schema: JsonSchema =
    parts.length === 1 ? { ...parts[0], ...stripType(outerRest) } : { ...outerRest, anyOf: parts };
  return { name, schema, required, nullable, kind: kindOf(name, schema, parts, root) };
}

function stripType(s: JsonSchema): JsonSchema {
  const { type: _t, ...rest } = s;
  void _t;
  return rest;
}

function kindOf(name: string, schema: JsonSchema, parts: JsonSchema[], root: JsonSchema): FieldKind {
  if (parts.length > 1) {
    // Literals written as anyOf of consts.
    if (parts.every((p) => p.const !== undefined)) return { kind: 'enum', options: parts.map((p) => p.const) };
    const types = new Set(parts.map((p) => p.type));
    if (types.has('string') && (types.has('number') || types.has('integer')) && types.size === 2) {
      return { kind: 'numberOrText' };
    }
    const isList = (p: JsonSchema) => p.type === 'array' && deref(p.items ?? {}, root).type === 'string';
    if (parts.length === 2 && parts.some((p) => p.type === 'string' && !p.enum) && parts.some(isList)) {
      return { kind: 'stringOrList' };
    }
    return { kind: 'json' };
  }
  if (schema.enum) return { kind: 'enum', options: schema.enum };
  if (schema.const !== undefined) return { kind: 'enum', options: [schema.const] };
  const format = typeof schema.format === 'string' ? schema.format : '';
  switch (schema.type) {
    case 'boolean':
      return { kind: 'boolean' };
    case 'integer':
      return { kind: 'integer' };
    case 'number':
      return { kind: 'number' };
    case 'string':
      if (CODE_FORMATS.includes(format)) return { kind: 'code', language: format as CodeLanguage };
      if (CODE_NAMES[name]) return { kind: 'code', language: CODE_NAMES[name] };
      return { kind: 'string' };
    case 'array': {
      const items = deref(schema.items ?? {}, root);
      if (items.type === 'string' && !items.enum) return { kind: 'stringList' };
      if (items.type === 'object' && items.properties) return { kind: 'objectList', items };
      return { kind: 'json' };
    }
    case 'object': {
      if (schema.properties && Object.keys(schema.properties).length > 0) return { kind: 'object', schema };
      const values = schema.additionalProperties;
      if (values && typeof values === 'object') {
        const v = deref(values, root);
        if (['string', 'number', 'integer', 'boolean'].includes(String(v.type)) || !v.type) {
          return { kind: 'dict', values: v };
        }
      }
      return values === true || values === undefined ? { kind: 'dict', values: {} } : { kind: 'json' };
    }
    default:
      return { kind: 'json' };
  }
}

/** The fields of an object schema, in the schema's order (required ones keep their place). */
export function fieldsOf(schema: JsonSchema, root: JsonSchema = schema, skip: readonly string[] = []): Field[] {
  const s = deref(schema, root);
  const required = new Set(s.required ?? []);
  return Object.entries(s.properties ?? {})
    .filter(([name]) => !skip.includes(name))
    .map(([name, raw]) => fieldOf(name, raw, root, required.has(name)));
}

/** The default shown as a placeholder: text for scalars, JSON for the rest, '' for none. */
export function placeholderOf(field: Field): string {
  const d = field.schema.default;
  if (d === undefined || d === null) return '';
  if (typeof d === 'string') return d;
  if (typeof d === 'number' || typeof d === 'boolean') return String(d);
  if (Array.isArray(d) && d.length === 0) return '';
  if (typeof d === 'object' && Object.keys(d as object).length === 0) return '';
  return JSON.stringify(d);
}

/** A short human label for a field name: `retry_delay` → `retry delay`. */
export function labelOf(name: string, schema?: JsonSchema): string {
  void schema;
  return name.replace(/_/g, ' ');
}
