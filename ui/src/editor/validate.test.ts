import { describe, expect, it } from 'vitest';
import catalogJson from './catalog.fixture.json';
import { docFromSpec, taskName } from './spec';
import type { EditorDoc, TaskTypeCatalog } from './types';
import { byField, cycleMembers, normalizeField, Validator } from './validate';

// The API's answer (GET /api/v1/task-types), cut down to a few types.
const catalog = catalogJson as unknown as TaskTypeCatalog;

function check(spec: Record<string, unknown>) {
  const doc = docFromSpec(spec);
  const v = new Validator(catalog).validate(doc);
  const of = (name: string) => byField(v.byTask.get(doc.tasks.find((t) => taskName(t) === name)!.id));
  return { v, of, doc };
}

describe('editor validation', () => {
  it('finds nothing wrong in a good workflow', () => {
    const { v } = check({
      name: 'good',
      tasks: [
        { name: 'a', type: 'shell', command: 'echo a', retries: 2, timeout: '30m', resources: { cpu: 0.5, memory: '2Gi' } },
        { name: 's', type: 'switch', upstream: ['a'], cases: [{ when: '1 == 1', then: 'b' }], default: 'c' },
        { name: 'b', type: 'shell', upstream: ['s'], command: 'echo b', params: { n: 5 } },
        { name: 'c', type: 'condition', upstream: ['s'], success_branch: 'd' },
        { name: 'd', type: 'sql', upstream: ['c'], sql: 'select 1', output: 'first_row' },
      ],
    });
    expect(v.problems).toEqual([]);
  });

  it('maps schema errors to their field in plain words', () => {
    const { of } = check({
      name: 'bad',
      tasks: [
        { name: 'a', type: 'shell', retries: -1, timeout: 'soon', resources: { cpu: 0 }, bogus: 1 },
        { name: 'q', type: 'sql', sql: 'select 1', output: 'everything', max_rows: 2.5 },
        { name: 's', type: 'switch', cases: [{ when: 'x' }] },
      ],
    });
    expect(of('a')).toEqual({
      command: 'required',
      retries: 'must be at least 0',
      timeout: 'use seconds or a duration with a unit, e.g. 30s, 5m, 2h',
      'resources.cpu': 'must be greater than 0',
      bogus: 'unknown key bogus',
    });
    expect(of('q')).toEqual({ output: 'must be one of: none, first_row, rows', max_rows: 'must be a whole number' });
    expect(of('s')['cases.0.then']).toBe('required');
  });

  it('checks names, types and edges of the workflow as a whole', () => {
    const { v, of } = check({
      name: '9lives',
      tasks: [
        { name: 'a', type: 'shell', command: 'x', upstream: ['ghost'] },
        { name: 'a', type: 'shell', command: 'y' },
        { name: 'bad name', type: 'nope' },
        { name: 't', type: 'train' },
      ],
    });
    expect(v.workflow.map((p) => p.field)).toEqual(['workflow.name']);
    expect(of('a')).toEqual({ name: 'another task is also named a: names must be unique', upstream: 'upstream task ghost does not exist' });
    expect(of('bad name').name).toMatch(/letters, digits/);
    expect(of('bad name').type).toMatch(/unknown task type nope/);
    expect(of('t').type).toBe("train is not available on this server: pip install 'shoal[ml]'");
  });

  it('requires switch and condition targets to be direct downstream tasks', () => {
    const { of } = check({
      name: 'w',
      tasks: [
        { name: 's', type: 'switch', cases: [{ when: '1 == 1', then: 'b' }], default: 'c' },
        { name: 'b', type: 'shell', command: 'b', upstream: ['s'] },
        { name: 'c', type: 'shell', command: 'c' },
        { name: 'k', type: 'condition', upstream: ['b'], failure_branch: ['c'] },
      ],
    });
    expect(of('s')).toEqual({ default: 'c is not a downstream task of s: connect s → c first' });
    expect(of('k').failure_branch).toMatch(/connect k → c/);
  });

  it('finds the tasks of a cycle', () => {
    const doc: EditorDoc = docFromSpec({
      name: 'w',
      tasks: [
        { name: 'a', type: 'shell', command: 'a', upstream: ['c'] },
        { name: 'b', type: 'shell', command: 'b', upstream: ['a'] },
        { name: 'c', type: 'shell', command: 'c', upstream: ['b'] },
        { name: 'd', type: 'shell', command: 'd', upstream: ['c'] },
      ],
    });
    const inCycle = cycleMembers(doc).map((id) => taskName(doc.tasks.find((t) => t.id === id)!));
    expect(inCycle.sort()).toEqual(['a', 'b', 'c']);
    const v = new Validator(catalog).validate(doc);
    expect(v.byTask.get(doc.tasks[3].id)).toBeUndefined();
    expect(v.byTask.get(doc.tasks[0].id)?.[0].message).toMatch(/cycle/);
  });

  it('reuses the result of a task whose spec did not change', () => {
    const validator = new Validator(catalog);
    const spec = { name: 'a', type: 'shell' };
    expect(validator.taskProblems(spec)).toBe(validator.taskProblems(spec));
  });

  it("reads the server's field paths as the editor's", () => {
    expect(normalizeField('cases[0].when')).toBe('cases.0.when');
    expect(normalizeField('resources.cpu')).toBe('resources.cpu');
  });
});
