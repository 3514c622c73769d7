import { memo } from 'react';
import { DictRows } from './SchemaForm';
import type { Action } from './reducer';
import type { Problem } from './validate';

/** The workflow's own settings: name (fixed once saved), project (new workflows), description, params. */
export const WorkflowPanel = memo(function WorkflowPanel({
  workflow,
  problems,
  dispatch,
  isNew,
  project,
  projects,
  onProject,
  expanded,
  onToggle,
}: {
  workflow: Record<string, unknown>;
  problems: Problem[];
  dispatch: (a: Action) => void;
  isNew: boolean;
  project: string;
  projects: string[];
  onProject: (p: string) => void;
  /** folded, it shows only its title (and its problems' count), leaving room for the task form. */
  expanded: boolean;
  onToggle: () => void;
}) {
  const nameError = problems.find((p) => p.field === 'workflow.name')?.message;
  const set = (key: string, value: unknown) => dispatch({ type: 'setWorkflowField', path: [key], value, at: Date.now() });
  const general = problems.filter((p) => !p.field);
  return (
    <div className="workflow-panel" data-testid="workflow-panel">
      <button type="button" className="panel-toggle" data-testid="workflow-panel-toggle" aria-expanded={expanded} onClick={onToggle}>
        <span className="caret">{expanded ? '▾' : '▸'}</span>
        <h2>Workflow</h2>
        {!expanded && <span className="mono small">{typeof workflow.name === 'string' && workflow.name ? workflow.name : '(no name)'}</span>}
        {!expanded && problems.length > 0 && <span className="node-error static">{problems.length}</span>}
      </button>
      {expanded && <WorkflowFields {...{ workflow, problems, set, isNew, project, projects, onProject, nameError, general }} />}
    </div>
  );
});

function WorkflowFields({
  workflow,
  set,
  isNew,
  project,
  projects,
  onProject,
  nameError,
  general,
}: {
  workflow: Record<string, unknown>;
  problems: Problem[];
  set: (key: string, value: unknown) => void;
  isNew: boolean;
  project: string;
  projects: string[];
  onProject: (p: string) => void;
  nameError: string | undefined;
  general: Problem[];
}) {
  return (
    <>
      {general.map((p, i) => (
        <p className="muted small" key={i}>
          {p.message}
        </p>
      ))}
      {isNew && (
        <label className="sf-field">
          <span className="field-label">project</span>
          <select data-testid="workflow-project" value={project} onChange={(e) => onProject(e.target.value)}>
            {projects.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
          <span className="help">the projects you may edit</span>
        </label>
      )}
      <label className={`sf-field ${nameError ? 'invalid' : ''}`}>
        <span className="field-label">
          name<span className="req"> *</span>
        </span>
        <input
          type="text"
          data-testid="workflow-name"
          value={typeof workflow.name === 'string' ? workflow.name : ''}
          readOnly={!isNew}
          title={isNew ? undefined : 'A saved workflow keeps its name: saving under another name would make a new workflow'}
          placeholder="e.g. daily_training"
          onChange={(e) => set('name', e.target.value)}
        />
        {nameError && (
          <span className="field-error" data-testid="field-error-workflow.name" role="alert">
            {nameError}
          </span>
        )}
      </label>
      <label className="sf-field">
        <span className="field-label">description</span>
        <input
          type="text"
          data-testid="workflow-description"
          value={typeof workflow.description === 'string' ? workflow.description : ''}
          placeholder="what it does, for the workflow list"
          onChange={(e) => set('description', e.target.value === '' ? undefined : e.target.value)}
        />
      </label>
      <div className="sf-field">
        <span className="field-label">params</span>
        <DictRows testId="workflow-params" value={workflow.params} onChange={(v) => set('params', v)} />
        <span className="help">workflow parameters, read by tasks as ${'{'}name{'}'}; a run may override them</span>
      </div>
    </>
  );
}
