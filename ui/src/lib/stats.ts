// Pure helpers of the statistics charts: day rows for the stacked bars, the sparkline's bars,
// the summary's words. No React, no chart library: tested on their own (stats.test.ts).
import type { DayCounts, DurationSummary, RecentRun, RunState } from '../api/types';
import { formatDuration } from './format';
import { stateColor } from './states';

/** Stacking order of the per-day bars: outcomes at the bottom, what is still going on top. */
export const DAY_STATES: RunState[] = ['success', 'failed', 'stopped', 'running', 'paused', 'queued'];

export type DayRow = { day: string; label: string; total: number } & Record<RunState, number>;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `2026-03-10` -> `Mar 10` (a UTC day: no time zone shift). */
export function dayLabel(day: string): string {
  const m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(day);
  return m ? `${MONTHS[Number(m[2]) - 1]} ${Number(m[3])}` : day;
}

function addDay(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/**
 * One chart row per UTC day from `since` to `until` (inclusive), every state present: the
 * server sends every day already, and a day it left out (or a state it did not name) reads 0,
 * so the bars never skip a day.
 */
export function dayRows(since: string, until: string, days: DayCounts[]): DayRow[] {
  const byDay = new Map(days.map((d) => [d.day, d]));
  const rows: DayRow[] = [];
  for (let day = since, i = 0; day <= until && i < 1000; day = addDay(day, 1), i++) {
    const found = byDay.get(day);
    const row = { day, label: dayLabel(day), total: 0 } as DayRow;
    for (const s of DAY_STATES) {
      const n = found?.counts[s] ?? 0;
      row[s] = n;
      row.total += n;
    }
    rows.push(row);
  }
  return rows;
}

/** `75%` (no decimals unless under 10 points from an end: `99.5%`); `—` without finished runs. */
export function formatRate(rate: number | null | undefined): string {
  if (rate == null || Number.isNaN(rate)) return '—';
  const pct = rate * 100;
  const precise = pct > 0 && pct < 100 && (pct < 1 || pct > 99);
  return `${precise ? pct.toFixed(1) : Math.round(pct)}%`;
}

/** The summary line's parts: success rate, then p50 / p90 / max of the succeeded runs. */
export function summaryParts(s: DurationSummary): { label: string; value: string; title?: string }[] {
  return [
    {
      label: 'success',
      value: formatRate(s.success_rate),
      title: `${s.succeeded} of ${s.finished} finished runs succeeded`,
    },
    { label: 'p50', value: formatDuration(s.p50), title: 'median duration of the succeeded runs' },
    { label: 'p90', value: formatDuration(s.p90), title: '90th percentile duration of the succeeded runs' },
    { label: 'max', value: formatDuration(s.max), title: 'longest succeeded run' },
  ];
}

export interface SparkBar {
  id: number;
  state: RunState;
  x: number;
  y: number;
  width: number;
  height: number;
  fill: string;
  /** a failed (or stopped) run, drawn with a mark under its bar too */
  bad: boolean;
  title: string;
}

/**
 * The bars of a sparkline: one slot per run of the last `slots`, newest at the right (fewer runs
 * leave the left empty), heights scaled to the longest duration shown. A run without a duration
 * (still running, or never started) gets a short stub so it still shows.
 */
export function sparkBars(runs: RecentRun[], o: { width: number; height: number; slots: number; gap?: number }): SparkBar[] {
  const shown = runs.slice(-o.slots);
  const gap = o.gap ?? 1;
  const slot = o.width / o.slots;
  const barWidth = Math.max(1, slot - gap);
  const markSpace = 3; // under the bars: where a failed run's mark goes
  const room = o.height - markSpace;
  const max = Math.max(0, ...shown.map((r) => r.duration ?? 0));
  const offset = o.slots - shown.length;
  return shown.map((r, i) => {
    const h = r.duration == null ? 2 : max > 0 ? Math.max(1.5, (r.duration / max) * room) : 1.5;
    return {
      id: r.id,
      state: r.state,
      x: (offset + i) * slot,
      y: room - h,
      width: barWidth,
      height: h,
      fill: stateColor(r.state).solid,
      bad: r.state === 'failed' || r.state === 'stopped',
      title: `#${r.id} ${r.state.replace(/_/g, ' ')} ${r.duration == null ? '(no duration yet)' : formatDuration(r.duration)}`,
    };
  });
}

/** The sparkline's tooltip: how the runs shown went, and the median of the succeeded ones. */
export function sparkTitle(runs: RecentRun[]): string {
  if (runs.length === 0) return 'No runs yet';
  const ok = runs.filter((r) => r.state === 'success');
  const failed = runs.filter((r) => r.state === 'failed').length;
  const durations = ok.map((r) => r.duration).filter((d): d is number => d != null).sort((a, b) => a - b);
  const mid = (durations.length - 1) / 2;
  const median = durations.length ? (durations[Math.floor(mid)] + durations[Math.ceil(mid)]) / 2 : null;
  const parts = [`Last ${runs.length} run${runs.length === 1 ? '' : 's'}: ${ok.length} succeeded`];
  if (failed) parts.push(`${failed} failed`);
  if (median != null) parts.push(`median ${formatDuration(median)}`);
  return parts.join(', ');
}
