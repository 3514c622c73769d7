import { memo, useCallback, useMemo, useState } from 'react';
import { SchemaForm } from './SchemaForm';
import { upstreamOf } from './spec';
import type { Action } from './reducer';
import type { EditorTask, JsonSchema, TaskTypeCatalog } from './types';
import { byField, type Problem } from './validate';

/** Common keys shown elsewhere: the name at the top, the type fixed, upstream as edges. */
const NOT_IN_ADVANCED = ['name', 'type', 'description', 'upstream'];

/**
 * The selected task's form: its name and description, its type's settings (rendered from the
 * type's params schema), and the keys every task has under "Advanced". Problems show on their
 * field; problems of no field (a cycle, a missing upstream) at the top.
 */
export const TaskForm = memo(function TaskForm({
  task,
  catalog,
  problems,
  serverProblems,
  dispatch,
  onDelete,
}: {
  task: EditorTask;
  catalog: TaskTypeCatalog;
  problems: Problem[] | undefined;
  serverProblems: Problem[] | undefined;
  dispatch: (a: Action) => void;
  onDelete: () => void;
}) {
  const type = typeof task.spec.type === 'string' ? task.spec.type : '';
  const info = catalog.items.find((t) => t.name === type);
  const errors = useMemo(() => ({ ...byField(serverProblems), ...byField(problems) }), [problems, serverProblems]);
  const commonKeys = useMemo(() => Object.keys(catalog.common.properties ?? {}), [catalog.common]);
  const typeKeys = useMemo(() => Object.keys(info?.params_schema?.properties ?? {}), [info]);
  const shown = new Set([...commonKeys, ...typeKeys]);
  const unknownKeys = Object.keys(task.spec).filter((k) => !shown.has(k) && k !== 'depends_on');
  const rendered = new Set([...shown].filter((k) => k !== 'upstream'));
  const loose = [...(problems ?? []), ...(serverProblems ?? [])].filter((p) => !p.field || !rendered.has(p.field.split('.')[0]));

  const id = task.id;
  const onChange = useCallback(
    (path: string[], value: unknown) => dispatch({ type: 'setTaskField', id, path, value, at: Date.now() }),
    [dispatch, id],
  );
  const advancedSchema: JsonSchema = catalog.common;
  const advancedErrors = commonKeys.some((k) => !NOT_IN_ADVANCED.includes(k) && Object.keys(errors).some((f) => f === k || f.startsWith(`${k}.`)));
  const ups = upstreamOf(task.spec);
  // Rendered only while open: a closed section costs nothing when a task is selected.
  const [advancedOpen, setAdvancedOpen] = useState(false);
  const showAdvanced = advancedOpen || advancedErrors;

  return (
    <div className="task-form" data-testid="task-form" data-task={String(task.spec.name ?? '')}>
      <div className="panel-head">
        <h2>Task</h2>
        <span className="tag">{type || 'no type'}</span>
        <div className="spacer" />
        <button className="btn sm danger" data-testid="delete-task" onClick={onDelete} title="Delete this task (Delete)">
          Delete
        </button>
      </div>
      {info?.description && <p className="muted small type-desc">{info.description}</p>}
      {loose.length > 0 && (
        <ul className="task-problems" data-testid="task-problems">
          {loose.map((p, i) => (
            <li key={i}>
              {p.field ? <b>{p.field}: </b> : null}
              {p.message}
            </li>
          ))}
        </ul>
      )}
      <label className={`sf-field ${errors.name ? 'invalid' : ''}`}>
        <span className="field-label">
          name<span className="req"> *</span>
        </span>
        <input
          type="text"
          data-testid="field-name"
          value={typeof task.spec.name === 'string' ? task.spec.name : ''}
          onChange={(e) => dispatch({ type: 'renameTask', id, name: e.target.value, at: Date.now() })}
          aria-invalid={errors.name ? true : undefined}
        />
        <span className="help">unique in the workflow; downstream tasks read its outputs as ${'{'}name.key{'}'}</span>
        {errors.name && (
          <span className="field-error" data-testid="field-error-name" role="alert">
            {errors.name}
          </span>
        )}
      </label>
      <label className="sf-field">
        <span className="field-label">description</span>
        <input
          type="text"
          data-testid="field-description"
          value={typeof task.spec.description === 'string' ? task.spec.description : ''}
          onChange={(e) => onChange(['description'], e.target.value === '' ? undefined : e.target.value)}
        />
      </label>
      <div className="muted small">
        after: {ups.length ? ups.join(', ') : <i>nothing (a first task)</i>}
      </div>
      <h3>{type} settings</h3>
      {info?.params_schema ? (
        <SchemaForm schema={info.params_schema} root={info.params_schema} value={task.spec} errors={errors} onChange={onChange} skip={commonKeys} />
      ) : (
        <p className="muted small">
          {info
            ? `The settings of ${type} cannot be shown here (${info.problem ?? 'no schema'}); edit them in the YAML view.`
            : `Unknown task type ${type}: edit it in the YAML view.`}
        </p>
      )}
      {unknownKeys.length > 0 && (
        <p className="muted small" data-testid="unknown-keys">
          Kept as written (not a setting of {type}): {unknownKeys.join(', ')}
        </p>
      )}
      <details
        className="advanced"
        data-testid="advanced"
        open={showAdvanced}
        onToggle={(e) => setAdvancedOpen((e.currentTarget as HTMLDetailsElement).open)}
      >
        <summary>Advanced: retries, timeout, resources, env…</summary>
        {showAdvanced && (
          <SchemaForm schema={advancedSchema} root={advancedSchema} value={task.spec} errors={errors} onChange={onChange} skip={NOT_IN_ADVANCED} />
        )}
      </details>
    </div>
  );
});
