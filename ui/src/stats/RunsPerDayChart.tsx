import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { RunState, RunsPerDay } from '../api/types';
import { DAY_STATES, dayRows, type DayRow } from '../lib/stats';
import { stateColor, stateLabel } from '../lib/states';

const HEIGHT = 240;

/** Runs by state per UTC day as stacked bars, in the state colours; `width` fixes it (tests). */
export function RunsPerDayChart({ data, width }: { data: RunsPerDay; width?: number }) {
  const rows = dayRows(data.since, data.until, data.days);
  const total = rows.reduce((n, r) => n + r.total, 0);
  const chart = (
    <BarChart data={rows} width={width} height={HEIGHT} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
      <CartesianGrid stroke="#eef0f3" vertical={false} />
      <XAxis dataKey="label" tick={{ fontSize: 11 }} interval="preserveStartEnd" minTickGap={16} />
      <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={40} />
      <Tooltip content={<DayTooltip />} isAnimationActive={false} cursor={{ fill: '#f2f4f7' }} />
      <Legend
        formatter={(v: string) => stateLabel(v)}
        itemSorter={(item) => DAY_STATES.indexOf(item.dataKey as RunState)}
        iconSize={10}
        wrapperStyle={{ fontSize: 12 }}
      />
      {DAY_STATES.map((s) => (
        <Bar key={s} dataKey={s} stackId="runs" fill={stateColor(s).solid} isAnimationActive={false} />
      ))}
    </BarChart>
  );
  return (
    <div className="runs-per-day-chart" data-testid="runs-per-day-chart" data-total={total} data-days={rows.length}>
      {width ? chart : <ResponsiveContainer width="100%" height={HEIGHT}>{chart}</ResponsiveContainer>}
    </div>
  );
}

function DayTooltip({ active, payload }: { active?: boolean; payload?: { payload?: DayRow }[] }) {
  const row = payload?.[0]?.payload;
  if (!active || !row) return null;
  return (
    <div className="chart-tooltip" data-testid="runs-per-day-tooltip">
      <div className="strong">
        {row.day} <span className="muted">UTC</span>
      </div>
      {row.total === 0 && <div className="muted">no runs</div>}
      {DAY_STATES.filter((s) => row[s] > 0).map((s) => (
        <div key={s}>
          <span className="dot" style={{ background: stateColor(s).solid }} /> {stateLabel(s)} <b>{row[s]}</b>
        </div>
      ))}
    </div>
  );
}
