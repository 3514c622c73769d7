import { useState, type KeyboardEvent } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useNavigate } from 'react-router-dom';
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { getWorkflowStats } from '../api/calls';
import type { DurationSummary, RunPoint, WorkflowStats } from '../api/types';
import { ErrorBox } from '../components/ErrorBox';
import { Skeleton } from '../components/Skeleton';
import { formatDuration, formatLogicalDate } from '../lib/format';
import { summaryParts } from '../lib/stats';
import { isRunTerminal, stateColor, stateLabel } from '../lib/states';

export const LAST_CHOICES = [20, 50, 100, 200] as const;
const HEIGHT = 240;

/**
 * A workflow's run durations over its last N runs (N: 20/50/100/200), points coloured by state
 * (click one: its run), with the success rate and p50/p90 above. Shared by the Statistics page
 * and the workflow page; `width` fixes the chart's width (tests), else it fills its box.
 */
export function DurationChart({ project, name, width }: { project: string; name: string; width?: number }) {
  const [last, setLast] = useState<number>(50);
  const navigate = useNavigate();
  const stats = useQuery({
    queryKey: ['stats', 'workflow', project, name, last],
    queryFn: () => getWorkflowStats(project, name, last),
    placeholderData: keepPreviousData,
    // While a run of the chart is going on, its point appears when it ends.
    refetchInterval: (q) => (q.state.data?.runs.some((r) => !isRunTerminal(r.state)) ? 5000 : false),
  });
  const d = stats.data;
  return (
    <div className="chart-box" data-testid="duration-box">
      <div className="chart-head">
        <h2>Run duration</h2>
        <label className="muted small">
          last{' '}
          <select data-testid="duration-last" value={last} onChange={(e) => setLast(Number(e.target.value))}>
            {LAST_CHOICES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>{' '}
          runs
        </label>
      </div>
      <ErrorBox error={stats.error} testId="duration-error" />
      <Skeleton loading={stats.isPending} rows={4} />
      {d && (
        <div className={stats.isPlaceholderData ? 'stale' : ''}>
          <DurationBody
            stats={d}
            width={width}
            onOpen={(id) => navigate(`/runs/${encodeURIComponent(project)}/${id}`)}
          />
        </div>
      )}
    </div>
  );
}

/** What the chart shows for an answer: its summary and line, or what to do without runs. */
export function DurationBody({ stats, width, onOpen }: { stats: WorkflowStats; width?: number; onOpen: (id: number) => void }) {
  if (stats.runs.length === 0)
    return (
      <div className="empty small" data-testid="duration-empty">
        No runs yet: run it from the Workflows page.
      </div>
    );
  return (
    <>
      <SummaryLine summary={stats.summary} />
      <DurationPlot runs={stats.runs} width={width} onOpen={onOpen} />
    </>
  );
}

export function SummaryLine({ summary }: { summary: DurationSummary }) {
  return (
    <div className="chart-summary" data-testid="duration-summary">
      {summaryParts(summary).map((p) => (
        <span key={p.label} title={p.title} data-testid={`duration-summary-${p.label}`}>
          <span className="muted">{p.label}</span> <b>{p.value}</b>
        </span>
      ))}
      <span className="muted" title="runs shown; finished = succeeded, failed or stopped">
        {summary.finished} of {summary.runs} finished
      </span>
    </div>
  );
}

interface Row {
  id: number;
  label: string;
  duration: number | null;
  state: RunPoint['state'];
  logical_date: string;
}

interface DotProps {
  cx?: number | null;
  cy?: number | null;
  index?: number;
  payload?: Row;
}

/** The line itself: one point per run that has a duration (a running run leaves a gap). */
export function DurationPlot({ runs, width, onOpen }: { runs: RunPoint[]; width?: number; onOpen: (id: number) => void }) {
  const rows: Row[] = runs.map((r) => ({
    id: r.id,
    label: `#${r.id}`,
    duration: r.duration,
    state: r.state,
    logical_date: r.logical_date,
  }));
  const points = rows.filter((r) => r.duration != null).length;

  const dot = ({ cx, cy, payload, index }: DotProps) => {
    if (cx == null || cy == null || !payload || payload.duration == null) return <g key={`none-${index}`} />;
    const open = () => onOpen(payload.id);
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        open();
      }
    };
    return (
      <circle
        key={payload.id}
        className="chart-point"
        data-testid={`duration-point-${payload.id}`}
        data-state={payload.state}
        cx={cx}
        cy={cy}
        r={4.5}
        fill={stateColor(payload.state).solid}
        stroke="#fff"
        strokeWidth={1.5}
        tabIndex={0}
        role="link"
        aria-label={`Run ${payload.id}, ${stateLabel(payload.state)}, ${formatDuration(payload.duration)}: open it`}
        onClick={open}
        onKeyDown={onKey}
      />
    );
  };

  const chart = (
    <LineChart data={rows} width={width} height={HEIGHT} margin={{ top: 8, right: 16, bottom: 4, left: 4 }}>
      <CartesianGrid stroke="#eef0f3" vertical={false} />
      <XAxis dataKey="label" tick={{ fontSize: 11 }} interval="preserveStartEnd" minTickGap={24} />
      <YAxis tick={{ fontSize: 11 }} tickFormatter={(v: number) => formatDuration(v)} width={56} />
      <Tooltip content={<PointTooltip />} isAnimationActive={false} />
      <Line
        type="linear"
        dataKey="duration"
        stroke="#94a3b8"
        strokeWidth={1.5}
        connectNulls
        isAnimationActive={false}
        dot={dot}
        activeDot={false}
      />
    </LineChart>
  );
  return (
    <div className="duration-chart" data-testid="duration-chart" data-points={points}>
      {width ? chart : <ResponsiveContainer width="100%" height={HEIGHT}>{chart}</ResponsiveContainer>}
    </div>
  );
}

function PointTooltip({ active, payload }: { active?: boolean; payload?: { payload?: Row }[] }) {
  const row = payload?.[0]?.payload;
  if (!active || !row) return null;
  return (
    <div className="chart-tooltip" data-testid="duration-tooltip">
      <div className="strong">Run #{row.id}</div>
      <div className="muted">logical date {formatLogicalDate(row.logical_date)}</div>
      <div>
        <span style={{ color: stateColor(row.state).fg }}>{stateLabel(row.state)}</span>
        {' · '}
        {row.duration == null ? 'no duration yet' : formatDuration(row.duration)}
      </div>
    </div>
  );
}
