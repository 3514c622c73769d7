import type { RunState, TaskRunState } from '../api/types';

/** Every state a badge or a node can show: run states, task-run states, and `disabled`. */
export type DisplayState = RunState | TaskRunState | 'disabled' | 'none';

/**
 * One colour per state, everywhere (badges, DAG nodes, Gantt bars). `fg` is the text on a
 * tinted background; `bg` the tint; `solid` the colour itself.
 */
export const STATE_COLORS: Record<DisplayState, { solid: string; bg: string; fg: string }> = {
  success: { solid: '#16a34a', bg: '#dcfce7', fg: '#166534' },
  failed: { solid: '#dc2626', bg: '#fee2e2', fg: '#991b1b' },
  running: { solid: '#2563eb', bg: '#dbeafe', fg: '#1e40af' },
  retrying: { solid: '#7c3aed', bg: '#ede9fe', fg: '#5b21b6' },
  queued: { solid: '#9ca3af', bg: '#f3f4f6', fg: '#374151' },
  pending: { solid: '#d1d5db', bg: '#f9fafb', fg: '#6b7280' },
  paused: { solid: '#ca8a04', bg: '#fef9c3', fg: '#854d0e' },
  upstream_failed: { solid: '#f97316', bg: '#ffedd5', fg: '#9a3412' },
  skipped: { solid: '#d1d5db', bg: '#f3f4f6', fg: '#6b7280' },
  disabled: { solid: '#e5e7eb', bg: '#f9fafb', fg: '#9ca3af' },
  stopped: { solid: '#4b5563', bg: '#e5e7eb', fg: '#1f2937' },
  none: { solid: '#e5e7eb', bg: '#ffffff', fg: '#6b7280' },
};

export function stateColor(state: string | null | undefined) {
  return STATE_COLORS[(state ?? 'none') as DisplayState] ?? STATE_COLORS.none;
}

export const RUN_STATES: RunState[] = ['queued', 'running', 'paused', 'success', 'failed', 'stopped'];
export const RUN_TERMINAL: ReadonlySet<string> = new Set(['success', 'failed', 'stopped']);
export const TASK_TERMINAL: ReadonlySet<string> = new Set([
  'success',
  'failed',
  'skipped',
  'upstream_failed',
  'stopped',
]);

export function isRunTerminal(state: string | null | undefined): boolean {
  return state != null && RUN_TERMINAL.has(state);
}

export function isTaskTerminal(state: string | null | undefined): boolean {
  return state != null && TASK_TERMINAL.has(state);
}

/** The state a task shows in a run: a task disabled for the run shows `disabled`. */
export function taskDisplayState(state: TaskRunState | undefined, disabled: boolean): DisplayState {
  if (disabled) return 'disabled';
  return state ?? 'pending';
}

export function stateLabel(state: string): string {
  return state.replace(/_/g, ' ');
}
