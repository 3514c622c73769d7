// A form rendered from a JSON Schema as pydantic writes it: one input per field (enums as
// selects, booleans as checkboxes, numbers with their bounds, code in a code editor, lists of
// names as comma-separated text, mappings as key/value rows, nested models as fieldsets, lists
// of models as repeated fieldsets). Descriptions are the help text, defaults the placeholders.
// A cleared field is removed from the value, so the default applies and the YAML stays short.
import { memo, useEffect, useState } from 'react';
import { CodeField } from './CodeField';
import { fieldsOf, labelOf, placeholderOf, type Field } from './schema';
import type { JsonSchema } from './types';

export type OnFieldChange = (path: string[], value: unknown) => void;

export interface SchemaFormProps {
  schema: JsonSchema;
  /** the schema `$ref`s point into (the top-level schema with its `$defs`). */
  root: JsonSchema;
  value: Record<string, unknown>;
  /** field path (dotted) → message. */
  errors: Record<string, string>;
  onChange: OnFieldChange;
  prefix?: string[];
  /** fields not to show (shown elsewhere). */
  skip?: readonly string[];
}

export function SchemaForm({ schema, root, value, errors, onChange, prefix = [], skip = [] }: SchemaFormProps) {
  const fields = fieldsOf(schema, root, skip);
  if (fields.length === 0) return <p className="muted small">This task type has no settings of its own.</p>;
  return (
    <div className="schema-form">
      {fields.map((f) => (
        <FieldRow key={f.name} field={f} root={root} value={value?.[f.name]} errors={errors} path={[...prefix, f.name]} onChange={onChange} />
      ))}
    </div>
  );
}

const numberText = /^\s*-?\d+(\.\d+)?\s*$/;

/** Text typed into a number box: a number if it reads as one, else the text (the checks say why). */
function toNumber(text: string): unknown {
  if (text.trim() === '') return undefined;
  return numberText.test(text) ? Number(text) : text;
}

function display(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

interface RowProps {
  field: Field;
  root: JsonSchema;
  value: unknown;
  errors: Record<string, string>;
  path: string[];
  onChange: OnFieldChange;
}

export const FieldRow = memo(function FieldRow({ field, root, value, errors, path, onChange }: RowProps) {
  const id = path.join('.');
  const testId = `field-${id}`;
  const error = errors[id];
  const set = (v: unknown) => onChange(path, v);
  const ph = placeholderOf(field);
  const label = (
    <span className="field-label">
      {labelOf(field.name)}
      {field.required && <span className="req" title="required"> *</span>}
    </span>
  );
  const help = field.schema.description ? <span className="help">{field.schema.description}</span> : null;
  const err = error ? (
    <span className="field-error" data-testid={`field-error-${id}`} role="alert">
      {error}
    </span>
  ) : null;
  const common = { 'aria-invalid': error ? true : undefined, 'aria-describedby': error ? `err-${id}` : undefined };
  const k = field.kind;

  let control: React.ReactNode;
  switch (k.kind) {
    case 'boolean': {
      const dflt = field.schema.default === true;
      return (
        <div className={`sf-field check ${error ? 'invalid' : ''}`}>
          <label className="check">
            <input
              type="checkbox"
              data-testid={testId}
              checked={value === undefined ? dflt : value === true}
              onChange={(e) => set(e.target.checked === dflt ? undefined : e.target.checked)}
              {...common}
            />
            {label}
          </label>
          {help}
          {err}
        </div>
      );
    }
    case 'enum':
      control = (
        <select data-testid={testId} value={value === undefined || value === null ? '' : String(value)} onChange={(e) => set(e.target.value === '' ? undefined : k.options.find((o) => String(o) === e.target.value))} {...common}>
          <option value="">{field.schema.default != null ? `default: ${String(field.schema.default)}` : field.required ? 'choose…' : '(none)'}</option>
          {k.options.map((o) => (
            <option key={String(o)} value={String(o)}>
              {String(o)}
            </option>
          ))}
        </select>
      );
      break;
    case 'integer':
    case 'number': {
      const s = field.schema;
      control = (
        <input
          type="number"
          data-testid={testId}
          value={display(value)}
          placeholder={ph}
          min={s.minimum ?? s.exclusiveMinimum}
          max={s.maximum ?? s.exclusiveMaximum}
          step={k.kind === 'integer' ? 1 : 'any'}
          onChange={(e) => set(toNumber(e.target.value))}
          {...common}
        />
      );
      break;
    }
    case 'numberOrText':
      control = <input type="text" data-testid={testId} value={display(value)} placeholder={ph} onChange={(e) => set(toNumber(e.target.value))} {...common} />;
      break;
    case 'string':
      control = <input type="text" data-testid={testId} value={display(value)} placeholder={ph} onChange={(e) => set(e.target.value === '' ? undefined : e.target.value)} {...common} />;
      break;
    case 'code':
      control = (
        <CodeField
          testId={testId}
          language={k.language}
          value={typeof value === 'string' ? value : display(value)}
          placeholder={ph || `${k.language} …`}
          ariaLabel={labelOf(field.name)}
          onChange={(text) => set(text === '' ? undefined : text)}
        />
      );
      break;
    case 'stringList':
    case 'stringOrList':
      control = <ListInput testId={testId} value={value} placeholder={ph} single={k.kind === 'stringOrList'} onChange={set} />;
      break;
    case 'dict':
      control = <DictRows testId={testId} value={value} onChange={set} typed={k.values.type !== 'string'} />;
      break;
    case 'object':
      return (
        <fieldset className={`sf-field nested ${error ? 'invalid' : ''}`} data-testid={testId}>
          <legend>{labelOf(field.name)}</legend>
          {help}
          {err}
          <SchemaForm
            schema={k.schema}
            root={root}
            value={(value && typeof value === 'object' ? value : {}) as Record<string, unknown>}
            errors={errors}
            onChange={onChange}
            prefix={path}
          />
        </fieldset>
      );
    case 'objectList': {
      const items = Array.isArray(value) ? value : [];
      return (
        <fieldset className={`sf-field nested ${error ? 'invalid' : ''}`} data-testid={testId}>
          <legend>
            {labelOf(field.name)}
            {field.required && <span className="req"> *</span>}
          </legend>
          {help}
          {err}
          {items.map((item, i) => (
            <div className="sf-item" key={i} data-testid={`${testId}.${i}`}>
              <div className="sf-item-head">
                <span className="muted small">#{i + 1}</span>
                <button
                  type="button"
                  className="link small"
                  data-testid={`${testId}.${i}-remove`}
                  onClick={() => set(items.length === 1 ? undefined : items.filter((_, j) => j !== i))}
                >
                  remove
                </button>
              </div>
              <SchemaForm
                schema={k.items}
                root={root}
                value={(item && typeof item === 'object' ? item : {}) as Record<string, unknown>}
                errors={errors}
                onChange={onChange}
                prefix={[...path, String(i)]}
              />
            </div>
          ))}
          <button type="button" className="btn sm" data-testid={`${testId}-add`} onClick={() => set([...items, {}])}>
            + add
          </button>
        </fieldset>
      );
    }
    case 'json':
      control = <JsonInput testId={testId} value={value} placeholder={ph} onChange={set} />;
      break;
  }

  return (
    <label className={`sf-field ${error ? 'invalid' : ''}`}>
      {label}
      {control}
      {help}
      {err}
    </label>
  );
});

/** Text kept as typed while it parses to the same value, so "a, " does not jump back to "a". */
function useDraft<T>(value: T, format: (v: T) => string, parse: (s: string) => unknown) {
  const [draft, setDraft] = useState(() => format(value));
  useEffect(() => {
    setDraft((d) => (JSON.stringify(parse(d)) === JSON.stringify(value ?? undefined) ? d : format(value)));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  return [draft, setDraft] as const;
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function ListInput({ testId, value, placeholder, single, onChange }: {
  testId: string;
  value: unknown;
  placeholder: string;
  single: boolean;
  onChange: (v: unknown) => void;
}) {
  const parse = (s: string): unknown => {
    const items = splitList(s);
    if (items.length === 0) return undefined;
    return single && items.length === 1 ? items[0] : items;
  };
  const format = (v: unknown) => (Array.isArray(v) ? v.map(String).join(', ') : display(v));
  const [draft, setDraft] = useDraft(value, format, parse);
  return (
    <input
      type="text"
      data-testid={testId}
      value={draft}
      placeholder={placeholder || 'comma-separated, e.g. a, b'}
      onChange={(e) => {
        setDraft(e.target.value);
        onChange(parse(e.target.value));
      }}
    />
  );
}

function JsonInput({ testId, value, placeholder, onChange }: { testId: string; value: unknown; placeholder: string; onChange: (v: unknown) => void }) {
  const [draft, setDraft] = useState(() => (value === undefined ? '' : JSON.stringify(value)));
  const [bad, setBad] = useState<string | null>(null);
  useEffect(() => {
    setDraft((d) => {
      try {
        return JSON.stringify(d === '' ? undefined : JSON.parse(d)) === JSON.stringify(value) ? d : value === undefined ? '' : JSON.stringify(value);
      } catch {
        return d;
      }
    });
  }, [value]);
  return (
    <>
      <textarea
        className="json-input"
        data-testid={testId}
        value={draft}
        placeholder={placeholder || 'JSON, e.g. {"a": 1}'}
        onChange={(e) => {
          setDraft(e.target.value);
          if (e.target.value.trim() === '') {
            setBad(null);
            onChange(undefined);
            return;
          }
          try {
            onChange(JSON.parse(e.target.value));
            setBad(null);
          } catch {
            // A plain word is taken as text; anything else waits until it is valid JSON.
            if (/^[^{}[\]"]*$/.test(e.target.value)) {
              onChange(e.target.value);
              setBad(null);
            } else setBad('not valid JSON yet');
          }
        }}
      />
      {bad && <span className="field-error">{bad}</span>}
    </>
  );
}

interface Row {
  key: string;
  value: string;
}

function rowsOf(v: unknown): Row[] {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return [];
  return Object.entries(v as Record<string, unknown>).map(([key, value]) => ({ key, value: display(value) }));
}

/** A typed value from a row's text: numbers and booleans for a mapping that takes any value. */
function typedOf(text: string): unknown {
  if (numberText.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}

function objectOf(rows: Row[], typed = false, before?: unknown): Record<string, unknown> | undefined {
  const old = (before && typeof before === 'object' ? before : {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const r of rows) {
    const key = r.key.trim();
    if (key === '') continue;
    // A value whose text did not change keeps what the YAML had (a number stays a number).
    out[key] = key in old && display(old[key]) === r.value ? old[key] : typed ? typedOf(r.value) : r.value;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/** A mapping of names to text values as key/value rows, with add and remove. */
export function DictRows({ testId, value, onChange, typed = false }: {
  testId: string;
  value: unknown;
  onChange: (v: unknown) => void;
  /** values may be numbers and booleans too (else every value is text). */
  typed?: boolean;
}) {
  const [rows, setRows] = useState<Row[]>(() => rowsOf(value));
  useEffect(() => {
    setRows((r) => (JSON.stringify(objectOf(r, typed, value)) === JSON.stringify(value ?? undefined) ? r : rowsOf(value)));
  }, [value, typed]);
  const update = (next: Row[]) => {
    setRows(next);
    const obj = objectOf(next, typed, value);
    if (JSON.stringify(obj) !== JSON.stringify(value ?? undefined)) onChange(obj);
  };
  return (
    <div className="kv-rows" data-testid={testId}>
      {rows.map((r, i) => (
        <div className="kv-row" key={i}>
          <input
            type="text"
            aria-label="name"
            placeholder="name"
            data-testid={`${testId}-key-${i}`}
            value={r.key}
            onChange={(e) => update(rows.map((x, j) => (j === i ? { ...x, key: e.target.value } : x)))}
          />
          <input
            type="text"
            aria-label="value"
            placeholder="value"
            data-testid={`${testId}-value-${i}`}
            value={r.value}
            onChange={(e) => update(rows.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))}
          />
          <button type="button" className="link" aria-label="remove" data-testid={`${testId}-remove-${i}`} onClick={() => update(rows.filter((_, j) => j !== i))}>
            ×
          </button>
        </div>
      ))}
      <button type="button" className="btn sm" data-testid={`${testId}-add`} onClick={() => setRows([...rows, { key: '', value: '' }])}>
        + add
      </button>
    </div>
  );
}
