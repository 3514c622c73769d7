// The editor's state and every change to it, as one reducer: the workflow (doc), where its
// tasks sit, the selection, the clipboard, the YAML text, and undo/redo over doc and positions.
// Quick runs of one kind of change (typing into one field, the frames of one drag) make one
// undo step.
import { placeMissing } from './layout';
import {
  edgesOf,
  namesOf,
  newTaskId,
  renameTask,
  setIn,
  specFromDoc,
  taskName,
  uniqueName,
  upstreamOf,
  withKey,
  withUpstream,
  wouldCycle,
} from './spec';
import type { EditorDoc, EditorTask, TaskSpecObject, XY } from './types';
import { docFromYaml, parseYaml, type YamlProblem } from './yamlSync';

const MAX_HISTORY = 200;
/** Changes of one kind closer together than this (ms) are one undo step. */
export const COALESCE_MS = 1000;

export interface Snapshot {
  doc: EditorDoc;
  positions: Record<string, XY>;
}

export interface Clipboard {
  tasks: TaskSpecObject[];
  positions: XY[];
}

export interface EditorState extends Snapshot {
  /** selected task ids (the form shows the last one). */
  selection: string[];
  /** selected edge ids (`<source id>-><target id>`). */
  selectedEdges: string[];
  past: Snapshot[];
  future: Snapshot[];
  lastChange: { key: string; at: number } | null;
  clipboard: Clipboard | null;
  /** the YAML view's text when the user typed it (`null`: written from the doc). */
  yamlText: string | null;
  yamlProblem: YamlProblem | null;
  /** a message about a refused change (a cycle), until the next change. */
  notice: string | null;
  /** the spec as last saved or loaded (JSON), to know whether there are unsaved changes. */
  savedJson: string;
}

export type Action =
  | { type: 'load'; doc: EditorDoc; positions: Record<string, XY>; saved: boolean }
  | { type: 'addTask'; taskType: string; position: XY; at?: number }
  /** tasks dragged to new places (one frame of a drag: every node it moves). */
  | { type: 'move'; positions: Record<string, XY>; at: number }
  | { type: 'select'; ids: string[]; edges?: string[] }
  | { type: 'connect'; source: string; target: string }
  | { type: 'delete'; ids: string[]; edges: string[] }
  | { type: 'deleteSelection' }
  | { type: 'setTaskField'; id: string; path: string[]; value: unknown; at: number }
  | { type: 'renameTask'; id: string; name: string; at: number }
  | { type: 'setWorkflowField'; path: string[]; value: unknown; at: number }
  | { type: 'copy' }
  | { type: 'paste'; offset?: XY }
  | { type: 'undo' }
  | { type: 'redo' }
  | { type: 'layout'; positions: Record<string, XY> }
  | { type: 'yamlEdit'; text: string; at: number }
  | { type: 'dismissNotice' }
  | { type: 'saved' };

export const jsonOf = (doc: EditorDoc) => JSON.stringify(specFromDoc(doc));

export function initialState(doc: EditorDoc, positions: Record<string, XY> = {}, saved = false): EditorState {
  return {
    doc,
    positions: placeMissing(doc, positions),
    selection: [],
    selectedEdges: [],
    past: [],
    future: [],
    lastChange: null,
    clipboard: null,
    yamlText: null,
    yamlProblem: null,
    notice: null,
    savedJson: saved ? jsonOf(doc) : '',
  };
}

/** A new doc and positions, as one undo step (or part of the last one, for `coalesce`). */
function commit(
  state: EditorState,
  doc: EditorDoc,
  positions: Record<string, XY>,
  coalesce?: { key: string; at: number },
  keepYaml = false,
): EditorState {
  if (doc === state.doc && positions === state.positions) return state;
  const last = state.lastChange;
  const same = coalesce && last && last.key === coalesce.key && coalesce.at - last.at < COALESCE_MS;
  const past = same ? state.past : [...state.past, { doc: state.doc, positions: state.positions }].slice(-MAX_HISTORY);
  const ids = new Set(doc.tasks.map((t) => t.id));
  return {
    ...state,
    doc,
    positions: placeMissing(doc, positions),
    past,
    future: [],
    lastChange: coalesce ?? null,
    selection: state.selection.filter((id) => ids.has(id)),
    selectedEdges: state.selectedEdges.filter((e) => ids.has(e.split('->')[0]) && ids.has(e.split('->')[1])),
    yamlText: keepYaml ? state.yamlText : null,
    yamlProblem: keepYaml ? state.yamlProblem : null,
    notice: null,
  };
}

function mapTask(doc: EditorDoc, id: string, f: (spec: TaskSpecObject) => TaskSpecObject): EditorDoc {
  let changed = false;
  const tasks = doc.tasks.map((t) => {
    if (t.id !== id) return t;
    const spec = f(t.spec);
    if (spec === t.spec) return t;
    changed = true;
    return { ...t, spec };
  });
  return changed ? { ...doc, tasks } : doc;
}

/** The doc without tasks `ids` (and the upstream entries naming them) and without `edges`. */
function without(doc: EditorDoc, ids: readonly string[], edges: readonly string[]): EditorDoc {
  const gone = new Set(ids);
  const goneNames = new Set(doc.tasks.filter((t) => gone.has(t.id)).map((t) => taskName(t)));
  const cut = new Map<string, Set<string>>(); // target id -> upstream names to drop
  const nameOf = new Map(doc.tasks.map((t) => [t.id, taskName(t)]));
  for (const e of edges) {
    const [source, target] = e.split('->');
    const name = nameOf.get(source);
    if (name === undefined) continue;
    cut.set(target, new Set([...(cut.get(target) ?? []), name]));
  }
  if (gone.size === 0 && cut.size === 0) return doc;
  const tasks: EditorTask[] = [];
  for (const t of doc.tasks) {
    if (gone.has(t.id)) continue;
    const ups = upstreamOf(t.spec);
    const drop = cut.get(t.id);
    const kept = ups.filter((u) => !goneNames.has(u) && !drop?.has(u));
    tasks.push(kept.length === ups.length ? t : { ...t, spec: withUpstream(t.spec, kept) });
  }
  return { ...doc, tasks };
}

export function reducer(state: EditorState, action: Action): EditorState {
  switch (action.type) {
    case 'load':
      return initialState(action.doc, action.positions, action.saved);

    case 'addTask': {
      const name = uniqueName(action.taskType, namesOf(state.doc));
      const task: EditorTask = { id: newTaskId(), spec: { name, type: action.taskType } };
      const doc = { ...state.doc, tasks: [...state.doc.tasks, task] };
      const next = commit(state, doc, { ...state.positions, [task.id]: action.position });
      return { ...next, selection: [task.id], selectedEdges: [] };
    }

    case 'move': {
      const moved = Object.entries(action.positions).filter(([id, p]) => {
        const prev = state.positions[id];
        return prev && (prev.x !== p.x || prev.y !== p.y);
      });
      if (moved.length === 0) return state;
      // The frames of one drag (of one set of tasks) are one undo step.
      const key = `move:${moved.map(([id]) => id).sort().join(',')}`;
      return commit(state, state.doc, { ...state.positions, ...Object.fromEntries(moved) }, { key, at: action.at }, true);
    }

    case 'select':
      return { ...state, selection: action.ids, selectedEdges: action.edges ?? [] };

    case 'connect': {
      const source = state.doc.tasks.find((t) => t.id === action.source);
      const target = state.doc.tasks.find((t) => t.id === action.target);
      if (!source || !target) return state;
      const ups = upstreamOf(target.spec);
      if (ups.includes(taskName(source))) return state;
      if (wouldCycle(state.doc, action.source, action.target)) {
        const why =
          action.source === action.target
            ? `a task cannot depend on itself (${taskName(source)})`
            : `connecting ${taskName(source)} → ${taskName(target)} would make a cycle: ${taskName(target)} already runs before ${taskName(source)}`;
        return { ...state, notice: why };
      }
      const doc = mapTask(state.doc, action.target, (spec) => withUpstream(spec, [...ups, taskName(source)]));
      return commit(state, doc, state.positions);
    }

    case 'delete': {
      const doc = without(state.doc, action.ids, action.edges);
      return commit(state, doc, state.positions);
    }

    case 'deleteSelection': {
      const doc = without(state.doc, state.selection, state.selectedEdges);
      const next = commit(state, doc, state.positions);
      return { ...next, selection: [], selectedEdges: [] };
    }

    case 'setTaskField': {
      const after = ['name', 'type', 'description', 'upstream', 'depends_on'];
      const doc = mapTask(state.doc, action.id, (spec) => setIn(spec, action.path, action.value, after));
      return commit(state, doc, state.positions, { key: `field:${action.id}:${action.path.join('.')}`, at: action.at });
    }

    case 'renameTask': {
      const doc = renameTask(state.doc, action.id, action.name);
      return commit(state, doc, state.positions, { key: `name:${action.id}`, at: action.at });
    }

    case 'setWorkflowField': {
      const workflow = setIn(state.doc.workflow, action.path, action.value, ['name', 'project', 'description', 'params']);
      // A key new to the workflow goes before `tasks`, where a person would write it.
      const ordered =
        action.path.length === 1 && !(action.path[0] in state.doc.workflow) && action.value !== undefined
          ? withKey(
              Object.fromEntries(Object.entries(workflow).filter(([k]) => k !== action.path[0])),
              action.path[0],
              action.value,
              Object.keys(state.doc.workflow).filter((k) => k !== 'tasks'),
            )
          : workflow;
      const doc = { ...state.doc, workflow: ordered };
      return commit(state, doc, state.positions, { key: `wf:${action.path.join('.')}`, at: action.at });
    }

    case 'copy': {
      const chosen = state.doc.tasks.filter((t) => state.selection.includes(t.id));
      if (chosen.length === 0) return state;
      return {
        ...state,
        clipboard: { tasks: chosen.map((t) => t.spec), positions: chosen.map((t) => state.positions[t.id] ?? { x: 0, y: 0 }) },
      };
    }

    case 'paste': {
      const clip = state.clipboard;
      if (!clip || clip.tasks.length === 0) return state;
      const taken = namesOf(state.doc);
      const rename = new Map<string, string>();
      for (const spec of clip.tasks) {
        const name = uniqueName(taskName(spec) || String(spec.type ?? 'task'), taken);
        taken.add(name);
        rename.set(taskName(spec), name);
      }
      // Edges among the copied tasks are kept (renamed with them); edges to others are not.
      const offset = action.offset ?? { x: 40, y: 40 };
      const added: EditorTask[] = clip.tasks.map((spec) => {
        let doc: EditorDoc = { workflow: {}, tasks: [{ id: 'x', spec }] };
        const ups = upstreamOf(spec).filter((u) => rename.has(u));
        doc = { ...doc, tasks: [{ id: 'x', spec: withUpstream(spec, ups) }] };
        for (const [from, to] of rename) if (from !== taskName(spec)) doc = renameRefs(doc, from, to);
        return { id: newTaskId(), spec: withKey(doc.tasks[0].spec, 'name', rename.get(taskName(spec))) };
      });
      const positions = { ...state.positions };
      added.forEach((t, i) => {
        const p = clip.positions[i];
        positions[t.id] = { x: p.x + offset.x, y: p.y + offset.y };
      });
      const doc = { ...state.doc, tasks: [...state.doc.tasks, ...added] };
      const next = commit(state, doc, positions);
      return { ...next, selection: added.map((t) => t.id), selectedEdges: [] };
    }

    case 'undo': {
      const prev = state.past[state.past.length - 1];
      if (!prev) return state;
      const ids = new Set(prev.doc.tasks.map((t) => t.id));
      return {
        ...state,
        doc: prev.doc,
        positions: prev.positions,
        past: state.past.slice(0, -1),
        future: [{ doc: state.doc, positions: state.positions }, ...state.future],
        lastChange: null,
        selection: state.selection.filter((id) => ids.has(id)),
        selectedEdges: [],
        yamlText: null,
        yamlProblem: null,
        notice: null,
      };
    }

    case 'redo': {
      const next = state.future[0];
      if (!next) return state;
      const ids = new Set(next.doc.tasks.map((t) => t.id));
      return {
        ...state,
        doc: next.doc,
        positions: next.positions,
        past: [...state.past, { doc: state.doc, positions: state.positions }],
        future: state.future.slice(1),
        lastChange: null,
        selection: state.selection.filter((id) => ids.has(id)),
        selectedEdges: [],
        yamlText: null,
        yamlProblem: null,
        notice: null,
      };
    }

    case 'layout':
      return commit(state, state.doc, action.positions);

    case 'yamlEdit': {
      const parsed = parseYaml(action.text);
      if (!parsed.ok) return { ...state, yamlText: action.text, yamlProblem: parsed.problem };
      const doc = docFromYaml(parsed.spec, state.doc);
      if (jsonOf(doc) === jsonOf(state.doc)) return { ...state, yamlText: action.text, yamlProblem: null };
      const next = commit(state, doc, state.positions, { key: 'yaml', at: action.at }, true);
      return { ...next, yamlText: action.text, yamlProblem: null };
    }

    case 'dismissNotice':
      return { ...state, notice: null };

    case 'saved':
      return { ...state, savedJson: jsonOf(state.doc) };
  }
}

/** `doc` with references to task `from` (upstream, switch/condition targets) renamed to `to`,
 * the task itself not renamed (it may not be in `doc`). */
function renameRefs(doc: EditorDoc, from: string, to: string): EditorDoc {
  const ghost = '\u0000ghost';
  const withGhost: EditorDoc = { ...doc, tasks: [...doc.tasks, { id: ghost, spec: { name: from } }] };
  const renamed = renameTask(withGhost, ghost, to);
  return { ...renamed, tasks: renamed.tasks.filter((t) => t.id !== ghost) };
}

/** Whether there are changes not saved yet. */
export function isDirty(state: EditorState): boolean {
  return jsonOf(state.doc) !== state.savedJson;
}

export { edgesOf };
