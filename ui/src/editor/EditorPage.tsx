// The workflow editor: `/workflows/new` and `/workflows/:project/:name/edit`. A palette of task
// types, a canvas to drag them onto and connect, the selected task's form, the workflow's own
// settings, a YAML view editing the same workflow, undo/redo, copy/paste, auto-layout, node
// search, validation on every change and on save. Loaded on demand (a lazy route).
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import { Link, useLocation, useNavigate, useParams } from 'react-router-dom';
import { client, unwrap } from '../api/client';
import { applyWorkflow, getWorkflow, listTaskTypes } from '../api/calls';
import { ApiError, describeProblems, errorMessage } from '../api/errors';
import type { Project } from '../api/types';
import { useAuth } from '../auth/AuthContext';
import { ErrorBox } from '../components/ErrorBox';
import { Skeleton } from '../components/Skeleton';
import { AfterSave, type SavedInfo } from './AfterSave';
import { ScheduleDialog } from '../schedule/ScheduleDialog';
import type { Schedule } from '../api/types';
import { Canvas } from './Canvas';
import { autoLayoutAsync, NODE_HEIGHT, NODE_WIDTH, placeMissing } from './layout';
import { NodeSearch } from './NodeSearch';
import { Palette } from './Palette';
import { loadPositions, savePositions } from './positionsStore';
import { initialState, isDirty, reducer, type EditorState } from './reducer';
import { docFromSpec, emptyDoc, specFromDoc, taskName } from './spec';
import { TaskForm } from './TaskForm';
import type { EditorDoc, TaskTypeCatalog, XY } from './types';
import { useUnsavedGuard } from './useUnsavedGuard';
import { normalizeField, Validator, type Problem } from './validate';
import { WorkflowPanel } from './WorkflowPanel';
import { YamlView } from './YamlView';
import { toYaml } from './yamlSync';

const NO_PROBLEMS: Problem[] = [];

const editUrl = (project: string, name: string) =>
  `/workflows/${encodeURIComponent(project)}/${encodeURIComponent(name)}/edit`;

/** The route: one editor per workflow (a new key when the address names another one). */
export function EditorPage() {
  const { project, name } = useParams();
  const key = project && name ? `${project}/${name}` : 'new';
  return <EditorLoader key={key} project={project ?? null} name={name ?? null} />;
}

function useEditableProjects(): string[] | null {
  const { who } = useAuth();
  const projects = useQuery({
    queryKey: ['projects'],
    queryFn: () => unwrap<Project[]>(client.GET('/api/v1/projects')),
    staleTime: 60_000,
  });
  if (!who || !projects.data) return null;
  if (who.roles === null) return [...new Set(['default', ...projects.data.map((p) => p.name)])].sort();
  return Object.entries(who.roles)
    .filter(([, r]) => r === 'editor' || r === 'admin')
    .map(([p]) => p)
    .sort();
}

function EditorLoader({ project, name }: { project: string | null; name: string | null }) {
  const isNew = project === null || name === null;
  const { canEdit, who, project: switched } = useAuth();
  const location = useLocation();
  const types = useQuery({ queryKey: ['task-types'], queryFn: () => listTaskTypes<TaskTypeCatalog>(), staleTime: 300_000 });
  const wf = useQuery({
    queryKey: ['workflow', project, name, null],
    queryFn: () => getWorkflow(project!, name!),
    enabled: !isNew,
    staleTime: 0,
  });
  const editable = useEditableProjects();

  const [start, setStart] = useState<{ doc: EditorDoc; positions: Record<string, XY> } | null>(() =>
    isNew ? { doc: emptyDoc(), positions: {} } : null,
  );
  const loaded = wf.data;
  useEffect(() => {
    if (isNew || !loaded || start) return;
    let live = true;
    const doc = docFromSpec(loaded.definition as unknown as Record<string, unknown>);
    const stored = loadPositions(project!, name!);
    const positions: Record<string, XY> = {};
    for (const t of doc.tasks) if (stored[taskName(t)]) positions[t.id] = stored[taskName(t)];
    // Nothing kept in this browser: lay it out (off the main thread if big); some kept: place the others.
    if (Object.keys(positions).length > 0) setStart({ doc, positions: placeMissing(doc, positions) });
    else void autoLayoutAsync(doc).then((p) => live && setStart({ doc, positions: p }));
    return () => {
      live = false;
    };
  }, [isNew, loaded, start, project, name]);

  const error = types.error ?? wf.error;
  const mayEdit = isNew ? (editable === null ? null : editable.length > 0) : who ? canEdit(project!) : null;
  const justSaved = (location.state as { justSaved?: SavedInfo } | null)?.justSaved ?? null;

  return (
    <section className="editor-page">
      <div className="crumbs">
        <Link to="/workflows">Workflows</Link> /{' '}
        {isNew ? (
          <span className="muted">new</span>
        ) : (
          <>
            <span className="muted">{project}</span> /{' '}
            <Link to={`/workflows/${encodeURIComponent(project!)}/${encodeURIComponent(name!)}`}>{name}</Link> /{' '}
            <span className="muted">edit</span>
          </>
        )}
      </div>
      <ErrorBox error={error} testId="editor-error" />
      {mayEdit === false && (
        <div className="empty" data-testid="editor-forbidden">
          <h3>You cannot edit {isNew ? 'workflows' : `workflows of ${project}`}</h3>
          <p>Editing needs the editor or admin role in a project; ask one of its admins.</p>
        </div>
      )}
      <Skeleton loading={!error && (types.isPending || !start)} rows={8} />
      {!error && mayEdit && types.data && start && editable && (
        <ReactFlowProvider>
          <Editor
            catalog={types.data}
            start={start}
            isNew={isNew}
            version={wf.data?.version ?? null}
            initialProject={
              project ?? (switched && editable.includes(switched) ? switched : editable.includes('default') ? 'default' : editable[0])
            }
            projects={editable}
            justSaved={justSaved}
          />
        </ReactFlowProvider>
      )}
    </section>
  );
}

const typingTarget = (t: EventTarget | null) => {
  const el = t as HTMLElement | null;
  return !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
};

function Editor({
  catalog,
  start,
  isNew,
  version: initialVersion,
  initialProject,
  projects,
  justSaved: savedBefore,
}: {
  catalog: TaskTypeCatalog;
  start: { doc: EditorDoc; positions: Record<string, XY> };
  isNew: boolean;
  version: number | null;
  initialProject: string;
  projects: string[];
  justSaved: SavedInfo | null;
}) {
  const [state, dispatch] = useReducer(reducer, undefined, () => initialState(start.doc, start.positions, !isNew));
  const [project, setProject] = useState(initialProject);
  const [showYaml, setShowYaml] = useState(false);
  const [version, setVersion] = useState(initialVersion);
  // The workflow panel: open while no task is selected, unless the user folded or opened it.
  const [wfOpen, setWfOpen] = useState<boolean | null>(null);
  const [justSaved, setJustSaved] = useState<SavedInfo | null>(savedBefore);
  const [scheduling, setScheduling] = useState(false);
  const [server, setServer] = useState<{ doc: EditorDoc; problems: Problem[]; error: unknown } | null>(null);
  const [refused, setRefused] = useState<Problem[] | null>(null);
  const { setCenter, getZoom, fitView } = useReactFlow();
  const navigate = useNavigate();
  const queryClient = useQueryClient();

  const validator = useMemo(() => new Validator(catalog), [catalog]);
  const validation = useMemo(() => validator.validate(state.doc), [validator, state.doc]);
  // Not on every state change (a drag frame): only when the doc or what was saved changes.
  const dirty = useMemo(() => isDirty(state), [state.doc, state.savedJson]); // eslint-disable-line react-hooks/exhaustive-deps
  const guard = useUnsavedGuard(dirty);
  const stateRef = useRef<EditorState>(state);
  stateRef.current = state;

  // Server problems belong to the doc that was sent: an edit makes them stale.
  const serverProblems = server && server.doc === state.doc ? server.problems : NO_PROBLEMS;
  const byTask = useMemo(() => {
    if (serverProblems.length === 0) return validation.byTask;
    const m = new Map(validation.byTask);
    for (const p of serverProblems) if (p.taskId) m.set(p.taskId, [...(m.get(p.taskId) ?? []), p]);
    return m;
  }, [validation.byTask, serverProblems]);
  useEffect(() => setRefused(null), [state.doc]);

  const groups = useMemo(() => new Map(catalog.items.map((t) => [t.name, t.group])), [catalog.items]);
  const groupOf = useCallback((type: string) => groups.get(type) ?? 'general', [groups]);

  const addAtCentre = useCallback(
    (type: string) => {
      // Keyboard add: beside the selected task, else below the others.
      const s = stateRef.current;
      const sel = s.selection[s.selection.length - 1];
      const p = sel ? s.positions[sel] : undefined;
      const maxY = Math.max(-NODE_HEIGHT, ...Object.values(s.positions).map((q) => q.y));
      const position = p ? { x: p.x + NODE_WIDTH + 70, y: p.y } : { x: 16, y: maxY + NODE_HEIGHT + 40 };
      dispatch({ type: 'addTask', taskType: type, position, at: Date.now() });
      window.setTimeout(() => setCenter(position.x + NODE_WIDTH / 2, position.y + NODE_HEIGHT / 2, { zoom: getZoom(), duration: 0 }));
    },
    [setCenter, getZoom],
  );

  const jumpTo = useCallback(
    (id: string) => {
      const p = stateRef.current.positions[id];
      if (!p) return;
      dispatch({ type: 'select', ids: [id] });
      void setCenter(p.x + NODE_WIDTH / 2, p.y + NODE_HEIGHT / 2, { zoom: Math.max(getZoom(), 1), duration: 0 });
    },
    [setCenter, getZoom],
  );

  const layout = useCallback(() => {
    const doc = stateRef.current.doc;
    void autoLayoutAsync(doc).then((positions) => {
      if (stateRef.current.doc !== doc) return; // edited meanwhile: that layout is out of date
      dispatch({ type: 'layout', positions });
      window.setTimeout(() => void fitView({ padding: 0.2, maxZoom: 1.1, duration: 0 }));
    });
  }, [fitView]);

  const save = useMutation({
    mutationFn: async (doc: EditorDoc) => {
      const yaml = toYaml(specFromDoc(doc));
      const applied = await applyWorkflow(yaml, 'yaml', project);
      return { doc, applied: applied[0] };
    },
    onMutate: () => {
      setServer(null);
      setJustSaved(null);
    },
    onSuccess: ({ doc, applied }) => {
      dispatch({ type: 'saved' });
      const s = stateRef.current;
      const byName: Record<string, XY> = {};
      for (const t of doc.tasks) if (s.positions[t.id]) byName[taskName(t)] = s.positions[t.id];
      savePositions(applied.project, applied.name, byName);
      const schedule = (doc.workflow.schedule ?? null) as Record<string, unknown> | null;
      setVersion(applied.version);
      onSaved({ project: applied.project, name: applied.name, version: applied.version, changed: applied.changed, schedule });
      void queryClient.invalidateQueries({ queryKey: ['workflows'] });
      void queryClient.invalidateQueries({ queryKey: ['workflow', applied.project, applied.name] });
      void queryClient.invalidateQueries({ queryKey: ['schedules'] });
    },
    onError: (error, doc) => setServer({ doc, problems: mapServerProblems(error, doc), error }),
  });

  /** The hook point after a save: what the banner (and the schedule prompt) is given. */
  const onSaved = (info: SavedInfo) => {
    if (isNew) {
      // The new workflow now has an address: edit it there (the banner goes along).
      guard.release();
      navigate(editUrl(info.project, info.name), { replace: true, state: { justSaved: info } });
      return;
    }
    setJustSaved(info);
  };

  // Only a saved, unchanged-since workflow may be scheduled from here: the dialog stores the
  // server's current definition with the schedule, which must be what the editor shows.
  const canSchedule = !!justSaved && !dirty;

  /** The dialog stored a new version with the new schedule: the editor takes both on, so the
   * next save keeps the schedule instead of removing it. */
  const scheduleChanged = async (saved: SavedInfo) => {
    const now = await getWorkflow(saved.project, saved.name);
    const schedule = (now.definition as { schedule?: Record<string, unknown> | null }).schedule ?? null;
    dispatch({ type: 'setWorkflowField', path: ['schedule'], value: schedule ?? undefined, at: Date.now() });
    dispatch({ type: 'saved' });
    setVersion(now.version);
    setJustSaved({ ...saved, version: now.version, schedule });
  };

  const mutate = save.mutate; // stable: the keyboard handler below is not re-made every render
  const trySave = useCallback(() => {
    const s = stateRef.current;
    const problems = validator.validate(s.doc).problems;
    if (problems.length > 0) {
      setRefused(problems);
      return;
    }
    setRefused(null);
    mutate(s.doc);
  }, [validator, mutate]);

  // Keyboard: undo/redo, copy/paste, find, save. Typing in a field keeps its own undo and copy.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (!mod) return;
      const k = e.key.toLowerCase();
      if (k === 's') {
        e.preventDefault();
        trySave();
        return;
      }
      if (k === 'f') {
        e.preventDefault();
        document.querySelector<HTMLInputElement>('[data-testid="node-search"]')?.focus();
        return;
      }
      if (typingTarget(e.target)) return;
      const s = stateRef.current;
      if (k === 'z' && !e.shiftKey) dispatch({ type: 'undo' });
      else if ((k === 'z' && e.shiftKey) || k === 'y') dispatch({ type: 'redo' });
      // Copy and paste only tasks: with none selected (or none copied) the browser's own applies.
      else if (k === 'c' && s.selection.length > 0 && !window.getSelection()?.toString()) dispatch({ type: 'copy' });
      else if (k === 'v' && s.clipboard) dispatch({ type: 'paste' });
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [trySave]);

  const selectedId = state.selection[state.selection.length - 1];
  const selected = useMemo(() => state.doc.tasks.find((t) => t.id === selectedId), [state.doc.tasks, selectedId]);
  // Stable props, so the form does not re-render on a drag frame or a keystroke elsewhere.
  const selectedServerProblems = useMemo(
    () => serverProblems.filter((p) => p.taskId === selectedId),
    [serverProblems, selectedId],
  );
  const deleteSelected = useCallback(() => selectedId && dispatch({ type: 'delete', ids: [selectedId], edges: [] }), [selectedId]);
  const wfExpanded = wfOpen ?? !selected;
  const toggleWorkflow = useCallback(() => setWfOpen(!wfExpanded), [wfExpanded]);
  const searchable = useMemo(() => state.doc.tasks.map((t) => ({ id: t.id, name: taskName(t) })), [state.doc.tasks]);
  const wfName = typeof state.doc.workflow.name === 'string' ? state.doc.workflow.name : '';
  const serverTop = server && server.doc === state.doc ? server : null;

  return (
    <div className="editor">
      <div className="editor-bar">
        <h1>
          {isNew ? 'New workflow' : wfName}
          {!isNew && version != null && <span className="tag">editing v{version}</span>}
          {dirty && (
            <span className="tag warn" data-testid="unsaved">
              unsaved
            </span>
          )}
        </h1>
        <div className="toolbar" role="toolbar" aria-label="Editor">
          <button className="btn sm" data-testid="undo" onClick={() => dispatch({ type: 'undo' })} disabled={state.past.length === 0} title="Undo (Ctrl+Z)">
            ↶ Undo
          </button>
          <button className="btn sm" data-testid="redo" onClick={() => dispatch({ type: 'redo' })} disabled={state.future.length === 0} title="Redo (Ctrl+Shift+Z, Ctrl+Y)">
            ↷ Redo
          </button>
          <button className="btn sm" data-testid="layout" onClick={layout} disabled={state.doc.tasks.length === 0} title="Lay the tasks out left to right">
            Auto-layout
          </button>
          <button
            className="btn sm"
            data-testid="delete-selected"
            onClick={() => dispatch({ type: 'deleteSelection' })}
            disabled={state.selection.length === 0 && state.selectedEdges.length === 0}
            title="Delete the selected tasks and edges (Delete)"
          >
            Delete
          </button>
          <button
            className={`btn sm ${showYaml ? 'on' : ''}`}
            data-testid="yaml-toggle"
            aria-pressed={showYaml}
            onClick={() => {
              setShowYaml((v) => !v);
              // the canvas changes width: keep the workflow in view
              window.setTimeout(() => void fitView({ padding: 0.2, maxZoom: 1.1, duration: 0 }), 50);
            }}
          >
            {showYaml ? 'Hide YAML' : 'YAML'}
          </button>
          <NodeSearch tasks={searchable} onJump={jumpTo} />
        </div>
        <div className="spacer" />
        <span className="muted small" data-testid="problem-count">
          {validation.problems.length === 0 ? 'no problems' : `${validation.problems.length} problem${validation.problems.length === 1 ? '' : 's'}`}
        </span>
        <button className="btn primary" data-testid="save" onClick={trySave} disabled={save.isPending} title="Save a new version (Ctrl+S)">
          {save.isPending ? 'Saving…' : 'Save'}
        </button>
      </div>
      {state.notice && (
        <div className="notice warn-notice" role="alert" data-testid="editor-notice">
          <span>{state.notice}</span>
          <button className="link" aria-label="dismiss" onClick={() => dispatch({ type: 'dismissNotice' })}>
            ×
          </button>
        </div>
      )}
      <AfterSave
        saved={justSaved}
        onClose={() => setJustSaved(null)}
        onSchedule={canSchedule ? () => setScheduling(true) : undefined}
      />
      {scheduling && justSaved && (
        <ScheduleDialog
          project={justSaved.project}
          workflow={justSaved.name}
          schedule={(justSaved.schedule as Schedule | null) ?? null}
          onClose={(changed) => {
            setScheduling(false);
            if (changed) void scheduleChanged(justSaved);
          }}
        />
      )}
      {refused && refused.length > 0 && (
        <div className="error" role="alert" data-testid="save-error">
          <div className="error-msg">
            <span>Not saved: fix {refused.length === 1 ? 'this problem' : `these ${refused.length} problems`} first.</span>
            <button className="link" aria-label="dismiss" onClick={() => setRefused(null)}>
              ×
            </button>
          </div>
          <ul>
            {refused.slice(0, 12).map((p, i) => (
              <li key={i}>{describeProblem(p, state.doc)}</li>
            ))}
            {refused.length > 12 && <li>… and {refused.length - 12} more</li>}
          </ul>
        </div>
      )}
      {serverTop && <ServerError error={serverTop.error} />}
      <div className={`editor-body ${showYaml ? 'with-yaml' : ''}`}>
        <Palette catalog={catalog} onAdd={addAtCentre} />
        <Canvas state={state} dispatch={dispatch} byTask={byTask} groupOf={groupOf} />
        {showYaml && <YamlView doc={state.doc} userText={state.yamlText} problem={state.yamlProblem} dispatch={dispatch} />}
        <aside className="editor-side">
          <WorkflowPanel
            workflow={state.doc.workflow}
            problems={validation.workflow}
            dispatch={dispatch}
            isNew={isNew}
            project={project}
            projects={projects}
            onProject={setProject}
            expanded={wfExpanded}
            onToggle={toggleWorkflow}
          />
          {selected ? (
            <TaskForm
              key={selected.id}
              task={selected}
              catalog={catalog}
              problems={validation.byTask.get(selected.id)}
              serverProblems={selectedServerProblems}
              dispatch={dispatch}
              onDelete={deleteSelected}
            />
          ) : (
            <p className="muted small side-hint">Select a task to fill in its form.</p>
          )}
        </aside>
      </div>
      {guard.dialog}
    </div>
  );
}

function describeProblem(p: Problem, doc: EditorDoc): string {
  const task = p.taskId ? doc.tasks.find((t) => t.id === p.taskId) : undefined;
  const where = [task ? `task ${taskName(task) || '(no name)'}` : null, p.field ? `field ${p.field}` : null].filter(Boolean).join(', ');
  return where ? `${where}: ${p.message}` : p.message;
}

/** A save refused by the server, in plain words (each problem with its line, task and field). */
function ServerError({ error }: { error: unknown }) {
  const problems = error instanceof ApiError ? describeProblems(error.details) : [];
  return (
    <div className="error" role="alert" data-testid="save-error">
      <div className="error-msg">
        <span>Not saved: {errorMessage(error)}</span>
      </div>
      {problems.length > 1 && (
        <ul>
          {problems.map((p, i) => (
            <li key={i}>{p}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The server's problems that name a task (and a field) as the editor's, on that task. */
export function mapServerProblems(error: unknown, doc: EditorDoc): Problem[] {
  if (!(error instanceof ApiError)) return [];
  const problems = error.details.problems;
  if (!Array.isArray(problems)) return [];
  const idOf = new Map(doc.tasks.map((t) => [taskName(t), t.id]));
  const out: Problem[] = [];
  for (const p of problems as { task?: string | null; field?: string | null; message?: string }[]) {
    if (!p || typeof p !== 'object' || !p.task) continue;
    const taskId = idOf.get(p.task);
    if (!taskId) continue;
    out.push({ taskId, field: p.field ? normalizeField(p.field) : undefined, message: p.message ?? 'is not valid' });
  }
  return out;
}
