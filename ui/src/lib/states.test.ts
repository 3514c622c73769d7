import { describe, expect, it } from 'vitest';
import { STATE_COLORS, stateColor, taskDisplayState, isRunTerminal, isTaskTerminal } from './states';

describe('state colours', () => {
  it('gives the agreed colour family per state', () => {
    expect(stateColor('success').solid).toBe('#16a34a'); // green
    expect(stateColor('failed').solid).toBe('#dc2626'); // red
    expect(stateColor('running').solid).toBe('#2563eb'); // blue
    expect(stateColor('queued').solid).toBe('#9ca3af'); // grey
    expect(stateColor('upstream_failed').solid).toBe('#f97316'); // orange
    expect(stateColor('stopped').solid).toBe('#4b5563'); // dark grey
    // skipped and disabled: light grey
    expect(stateColor('skipped').solid).toBe('#d1d5db');
    expect(stateColor('disabled').solid).toBe('#e5e7eb');
  });

  it('covers every run and task-run state', () => {
    for (const s of ['queued', 'running', 'paused', 'success', 'failed', 'stopped', 'pending', 'retrying', 'skipped', 'upstream_failed']) {
      expect(STATE_COLORS).toHaveProperty(s);
    }
  });

  it('falls back to a neutral colour for unknown or missing states', () => {
    expect(stateColor('weird')).toBe(STATE_COLORS.none);
    expect(stateColor(null)).toBe(STATE_COLORS.none);
  });

  it('uses distinct colours for states a user must tell apart', () => {
    const main = ['success', 'failed', 'running', 'queued', 'upstream_failed', 'stopped', 'skipped'] as const;
    expect(new Set(main.map((s) => STATE_COLORS[s].solid)).size).toBe(main.length);
  });
});

describe('state helpers', () => {
  it('shows a task disabled for the run as disabled', () => {
    expect(taskDisplayState('success', true)).toBe('disabled');
    expect(taskDisplayState('failed', false)).toBe('failed');
    expect(taskDisplayState(undefined, false)).toBe('pending');
  });

  it('knows terminal states', () => {
    expect(isRunTerminal('success')).toBe(true);
    expect(isRunTerminal('paused')).toBe(false);
    expect(isTaskTerminal('upstream_failed')).toBe(true);
    expect(isTaskTerminal('retrying')).toBe(false);
  });
});
