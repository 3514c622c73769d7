import { useEffect, useRef, useState } from 'react';
import type { TaskRun } from '../api/types';
import { durationBetween, formatDuration, parseTime } from '../lib/format';
import { stateColor, stateLabel } from '../lib/states';

const ROW = 22;
const LABEL = 150;
const AXIS = 20;

export interface GanttBar {
  task: string;
  state: string;
  start: number; // ms
  end: number; // ms
}

/** Bars of the task runs that started, on a shared time axis (now for those still running). */
export function ganttBars(tasks: readonly TaskRun[], order: readonly string[], now: number, disabled: readonly string[] = []) {
  const byName = new Map(tasks.map((t) => [t.task, t]));
  const names = [...order, ...tasks.map((t) => t.task).filter((n) => !order.includes(n))];
  const rows: (GanttBar | { task: string; state: string; start: null; end: null })[] = names.map((name) => {
    const t = byName.get(name);
    const state = disabled.includes(name) ? 'disabled' : (t?.state ?? 'pending');
    const s = parseTime(t?.started_at);
    if (!t || !s) return { task: name, state, start: null, end: null };
    const e = parseTime(t.ended_at);
    return { task: name, state, start: s.getTime(), end: e ? e.getTime() : now };
  });
  const started = rows.filter((r): r is GanttBar => r.start !== null);
  const t0 = started.length ? Math.min(...started.map((r) => r.start)) : now;
  const t1 = started.length ? Math.max(...started.map((r) => r.end), t0 + 1) : now + 1;
  return { rows, t0, t1 };
}

function ticks(span: number): number[] {
  const steps = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
  const seconds = span / 1000;
  const step = steps.find((s) => seconds / s <= 6) ?? 86400;
  const out: number[] = [];
  for (let t = 0; t <= seconds + 1e-9; t += step) out.push(t);
  return out;
}

export function Gantt({
  tasks,
  order,
  now,
  disabled,
  selected,
  onSelect,
}: {
  tasks: readonly TaskRun[];
  order: readonly string[];
  now: number;
  disabled?: readonly string[];
  selected?: string | null;
  onSelect?: (task: string) => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);
  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(([e]) => setWidth(Math.max(300, e.contentRect.width)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const { rows, t0, t1 } = ganttBars(tasks, order, now, disabled);
  const plot = width - LABEL - 36; // room for the last tick's label
  const x = (t: number) => LABEL + ((t - t0) / (t1 - t0)) * plot;
  const height = AXIS + rows.length * ROW + 4;

  return (
    <div className="gantt" ref={box} data-testid="gantt">
      <svg width={width} height={height} role="img" aria-label="task runs over time">
        {ticks(t1 - t0).map((s) => (
          <g key={s}>
            <line x1={x(t0 + s * 1000)} x2={x(t0 + s * 1000)} y1={AXIS - 4} y2={height} className="gantt-grid" />
            <text x={x(t0 + s * 1000)} y={12} className="gantt-tick" textAnchor="middle">
              {s === 0 ? '0' : `+${formatDuration(s)}`}
            </text>
          </g>
        ))}
        {rows.map((r, i) => {
          const y = AXIS + i * ROW;
          const c = stateColor(r.state);
          return (
            <g
              key={r.task}
              className={`gantt-row ${selected === r.task ? 'selected' : ''}`}
              data-testid={`gantt-row-${r.task}`}
              onClick={() => onSelect?.(r.task)}
            >
              <rect x={0} y={y} width={width} height={ROW} className="gantt-hit" />
              <text x={6} y={y + 15} className="gantt-label">
                {r.task}
              </text>
              {r.start !== null ? (
                <rect
                  x={x(r.start)}
                  y={y + 4}
                  width={Math.max(2, x(r.end) - x(r.start))}
                  height={ROW - 8}
                  rx={3}
                  fill={c.solid}
                  data-state={r.state}
                >
                  <title>
                    {r.task}: {stateLabel(r.state)}, {formatDuration(durationBetween(new Date(r.start).toISOString(), new Date(r.end).toISOString()))}
                  </title>
                </rect>
              ) : (
                <text x={LABEL + 4} y={y + 15} className="gantt-none">
                  {stateLabel(r.state)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </div>
  );
}
