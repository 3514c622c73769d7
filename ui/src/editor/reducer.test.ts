import { describe, expect, it } from 'vitest';
import { initialState, isDirty, reducer, type Action, type EditorState } from './reducer';
import { docFromSpec, edgesOf, specFromDoc, taskName } from './spec';

const spec = {
  name: 'wf',
  tasks: [
    { name: 'a', type: 'shell', command: 'echo a' },
    { name: 'b', type: 'shell', upstream: ['a'], command: 'echo b' },
    { name: 'c', type: 'switch', upstream: ['b'], cases: [{ when: '1 == 1', then: 'd' }], default: 'e' },
    { name: 'd', type: 'shell', upstream: ['c'], command: 'echo d' },
    { name: 'e', type: 'shell', upstream: ['c'], command: 'echo e' },
  ],
};

function start(): EditorState {
  const doc = docFromSpec(spec);
  const positions = Object.fromEntries(doc.tasks.map((t, i) => [t.id, { x: i * 200, y: 0 }]));
  return initialState(doc, positions, true);
}

const run = (s: EditorState, ...actions: Action[]) => actions.reduce(reducer, s);
const idOf = (s: EditorState, name: string) => s.doc.tasks.find((t) => taskName(t) === name)!.id;
const names = (s: EditorState) => s.doc.tasks.map((t) => taskName(t));
const tasks = (s: EditorState) => specFromDoc(s.doc).tasks as Record<string, unknown>[];

describe('editor reducer', () => {
  it('undoes and redoes every change, a quick run of typing in one field as one step', () => {
    let s = start();
    const a = idOf(s, 'a');
    s = run(
      s,
      { type: 'setTaskField', id: a, path: ['command'], value: 'e', at: 1000 },
      { type: 'setTaskField', id: a, path: ['command'], value: 'ec', at: 1200 },
      { type: 'setTaskField', id: a, path: ['command'], value: 'ech', at: 1400 },
      { type: 'setTaskField', id: a, path: ['retries'], value: 3, at: 1500 },
    );
    expect(tasks(s)[0]).toEqual({ name: 'a', type: 'shell', command: 'ech', retries: 3 });
    expect(s.past).toHaveLength(2);
    s = reducer(s, { type: 'undo' });
    expect(tasks(s)[0]).toEqual({ name: 'a', type: 'shell', command: 'ech' });
    s = reducer(s, { type: 'undo' });
    expect(tasks(s)[0].command).toBe('echo a');
    expect(isDirty(s)).toBe(false);
    s = reducer(s, { type: 'redo' });
    expect(tasks(s)[0].command).toBe('ech');
    expect(isDirty(s)).toBe(true);
    // a new change drops what could be redone
    s = run(s, { type: 'setTaskField', id: a, path: ['shell'], value: 'sh', at: 9000 });
    expect(s.future).toHaveLength(0);
    // typing again after a pause is a new step
    s = run(s, { type: 'setTaskField', id: a, path: ['shell'], value: 'zsh', at: 9000 + 5000 });
    expect(s.past).toHaveLength(3);
  });

  it('undoes a drag as one step, and a cleared nested field leaves no empty mapping', () => {
    let s = start();
    const b = idOf(s, 'b');
    s = run(
      s,
      { type: 'move', positions: { [b]: { x: 210, y: 10 } }, at: 100 },
      { type: 'move', positions: { [b]: { x: 220, y: 20 } }, at: 116 },
      { type: 'move', positions: { [b]: { x: 230, y: 30 } }, at: 132 },
    );
    expect(s.past).toHaveLength(1);
    // dragging two tasks together: one step too
    const a = idOf(s, 'a');
    s = run(
      s,
      { type: 'move', positions: { [a]: { x: 5, y: 5 }, [b]: { x: 240, y: 40 } }, at: 2000 },
      { type: 'move', positions: { [a]: { x: 9, y: 9 }, [b]: { x: 250, y: 50 } }, at: 2016 },
    );
    expect(s.past).toHaveLength(2);
    s = reducer(s, { type: 'undo' });
    s = reducer(s, { type: 'undo' });
    expect(s.positions[b]).toEqual({ x: 200, y: 0 });
    s = run(s, { type: 'setTaskField', id: b, path: ['resources', 'cpu'], value: 2, at: 1 });
    expect(tasks(s)[1].resources).toEqual({ cpu: 2 });
    s = run(s, { type: 'setTaskField', id: b, path: ['resources', 'cpu'], value: undefined, at: 2 });
    expect('resources' in tasks(s)[1]).toBe(false);
  });

  it('connects tasks, and refuses an edge that would close a cycle, saying why', () => {
    let s = start();
    s = reducer(s, { type: 'connect', source: idOf(s, 'a'), target: idOf(s, 'e') });
    expect(tasks(s)[4].upstream).toEqual(['c', 'a']);
    const before = s.doc;
    s = reducer(s, { type: 'connect', source: idOf(s, 'd'), target: idOf(s, 'a') });
    expect(s.doc).toBe(before);
    expect(s.notice).toMatch(/cycle/);
    s = reducer(s, { type: 'connect', source: idOf(s, 'a'), target: idOf(s, 'a') });
    expect(s.notice).toMatch(/itself/);
  });

  it('deletes tasks with their edges, and edges alone, as one undo step', () => {
    let s = start();
    const c = idOf(s, 'c');
    const edge = `${idOf(s, 'a')}->${idOf(s, 'b')}`;
    s = reducer(s, { type: 'delete', ids: [c], edges: [edge] });
    expect(names(s)).toEqual(['a', 'b', 'd', 'e']);
    expect(tasks(s).map((t) => t.upstream)).toEqual([undefined, undefined, undefined, undefined]);
    s = reducer(s, { type: 'undo' });
    expect(names(s)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(edgesOf(s.doc)).toHaveLength(4);
  });

  it('renames a task and every reference to it: upstream, switch cases and default', () => {
    let s = start();
    s = reducer(s, { type: 'renameTask', id: idOf(s, 'd'), name: 'deploy', at: 1 });
    s = reducer(s, { type: 'renameTask', id: idOf(s, 'e'), name: 'alert', at: 2 });
    const c = tasks(s)[2];
    expect(c.cases).toEqual([{ when: '1 == 1', then: 'deploy' }]);
    expect(c.default).toBe('alert');
    expect(edgesOf(s.doc)).toHaveLength(4);
  });

  it('copies and pastes tasks under new names, keeping the edges among them only', () => {
    let s = start();
    s = run(s, { type: 'select', ids: [idOf(s, 'c'), idOf(s, 'd'), idOf(s, 'e')] }, { type: 'copy' }, { type: 'paste' });
    expect(names(s)).toEqual(['a', 'b', 'c', 'd', 'e', 'c_2', 'd_2', 'e_2']);
    const pasted = tasks(s).slice(5);
    expect(pasted[0]).toEqual({ name: 'c_2', type: 'switch', cases: [{ when: '1 == 1', then: 'd_2' }], default: 'e_2' });
    expect(pasted[1].upstream).toEqual(['c_2']);
    expect(pasted[2].upstream).toEqual(['c_2']);
    expect(s.selection).toHaveLength(3);
    const p = s.positions[idOf(s, 'c')];
    expect(s.positions[idOf(s, 'c_2')]).toEqual({ x: p.x + 40, y: p.y + 40 });
    // pasting again makes yet other names
    s = reducer(s, { type: 'paste' });
    expect(names(s).slice(8)).toEqual(['c_3', 'd_3', 'e_3']);
    s = reducer(s, { type: 'undo' });
    s = reducer(s, { type: 'undo' });
    expect(names(s)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('adds a task of a type under a free name, selected', () => {
    let s = start();
    s = reducer(s, { type: 'addTask', taskType: 'shell', position: { x: 1, y: 2 } });
    s = reducer(s, { type: 'addTask', taskType: 'shell', position: { x: 1, y: 90 } });
    expect(names(s).slice(5)).toEqual(['shell', 'shell_2']);
    expect(s.selection).toEqual([idOf(s, 'shell_2')]);
    expect(s.positions[idOf(s, 'shell')]).toEqual({ x: 1, y: 2 });
  });

  it('reads valid YAML into the graph as one step, and keeps the graph on invalid YAML', () => {
    let s = start();
    const before = s.doc;
    s = reducer(s, { type: 'yamlEdit', text: 'name: wf\ntasks: [\n', at: 1 });
    expect(s.doc).toBe(before);
    expect(s.yamlProblem?.line).toBe(3);
    s = reducer(s, {
      type: 'yamlEdit',
      text: 'name: wf\ntasks:\n  - {name: a, type: shell, command: echo a}\n  - {name: z, type: shell, upstream: [a], command: echo z}\n',
      at: 2,
    });
    expect(s.yamlProblem).toBeNull();
    expect(names(s)).toEqual(['a', 'z']);
    expect(s.doc.tasks[0].id).toBe(before.tasks[0].id); // a keeps its id, so its place
    expect(s.positions[s.doc.tasks[1].id]).toBeDefined(); // z gets one
    s = reducer(s, { type: 'undo' });
    expect(names(s)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});
