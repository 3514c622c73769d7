import { describe, expect, it } from 'vitest';
import type { Run, TaskRun } from '../api/types';
import { ganttBars } from './Gantt';
import { applyRunEvent } from './useRunEvents';

const task = (name: string, over: Partial<TaskRun> = {}): TaskRun => ({
  id: 1,
  task: name,
  state: 'pending',
  attempt: 0,
  max_attempts: 1,
  started_at: null,
  ended_at: null,
  duration: null,
  outputs: {},
  error: null,
  note: null,
  pid: null,
  ...over,
});

const RUN: Run = {
  id: 2,
  project: 'default',
  workflow: 'hi',
  version: 1,
  state: 'running',
  trigger: 'manual',
  logical_date: '2026-12-07T21:00:23+00:00',
  created_at: '2026-12-07T21:00:23.5',
  started_at: '2026-12-07T21:00:24.0',
  ended_at: null,
  params: {},
  disabled: [],
  error: null,
  tasks: [task('a', { state: 'running', attempt: 1 }), task('b')],
};

describe('applyRunEvent', () => {
  it('replaces the run on a run event', () => {
    const next = { ...RUN, state: 'success' as const };
    expect(applyRunEvent(RUN, 'run', next)).toBe(next);
  });

  it('merges a task event into its task run only', () => {
    const out = applyRunEvent(RUN, 'task', task('a', { state: 'success', attempt: 1, duration: 5 }))!;
    expect(out.tasks.map((t) => t.state)).toEqual(['success', 'pending']);
    expect(out.tasks[0].duration).toBe(5);
    expect(out.tasks[1]).toBe(RUN.tasks[1]);
    expect(RUN.tasks[0].state).toBe('running'); // the cached run is not mutated
  });

  it('ignores a task event before the run is known, and other events', () => {
    expect(applyRunEvent(undefined, 'task', task('a'))).toBeUndefined();
    expect(applyRunEvent(RUN, 'end', {})).toBe(RUN);
  });
});

describe('ganttBars', () => {
  it('puts started task runs on one time axis, running ones up to now', () => {
    const now = Date.parse('2026-12-07T21:00:34Z');
    const { rows, t0, t1 } = ganttBars(
      [
        task('a', { state: 'success', started_at: '2026-12-07T21:00:24', ended_at: '2026-12-07T21:00:29' }),
        task('b', { state: 'running', started_at: '2026-12-07T21:00:29' }),
        task('c'),
      ],
      ['a', 'b', 'c'],
      now,
    );
    expect(t0).toBe(Date.parse('2026-12-07T21:00:24Z'));
    expect(t1).toBe(now);
    expect(rows.map((r) => [r.task, r.state, r.start === null])).toEqual([
      ['a', 'success', false],
      ['b', 'running', false],
      ['c', 'pending', true],
    ]);
  });

  it('shows disabled tasks as disabled', () => {
    const { rows } = ganttBars([task('a', { state: 'success' })], ['a'], 0, ['a']);
    expect(rows[0].state).toBe('disabled');
  });
});
