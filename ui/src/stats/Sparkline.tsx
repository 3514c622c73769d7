import { memo } from 'react';
import type { RecentRun } from '../api/types';
import { sparkBars, sparkTitle } from '../lib/stats';

export const SPARK_RUNS = 20;
const WIDTH = 100;
const HEIGHT = 22;

/**
 * The last runs' durations of one workflow as a tiny inline SVG (no chart library: a page of the
 * Workflows list draws 50 of them): a bar per run, newest at the right, coloured by state, with a
 * red mark under a failed or stopped run. `runs` null: not loaded yet (an empty box of the same
 * size, so nothing moves when it arrives).
 */
export const Sparkline = memo(function Sparkline({ name, runs }: { name: string; runs: RecentRun[] | null }) {
  if (runs === null) return <svg className="sparkline" width={WIDTH} height={HEIGHT} aria-hidden="true" />;
  if (runs.length === 0)
    return (
      <span className="sparkline-none muted small" data-testid={`sparkline-${name}`} title="No runs yet">
        no runs
      </span>
    );
  const bars = sparkBars(runs, { width: WIDTH, height: HEIGHT, slots: SPARK_RUNS });
  const title = sparkTitle(runs);
  return (
    <svg
      className="sparkline"
      width={WIDTH}
      height={HEIGHT}
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label={title}
      data-testid={`sparkline-${name}`}
      data-runs={runs.length}
    >
      <title>{title}</title>
      <line x1={0} x2={WIDTH} y1={HEIGHT - 3} y2={HEIGHT - 3} className="sparkline-base" />
      {bars.map((b) => (
        <g key={b.id} data-state={b.state}>
          <rect x={b.x} y={b.y} width={b.width} height={b.height} fill={b.fill} rx={0.5}>
            <title>{b.title}</title>
          </rect>
          {b.bad && <rect x={b.x} y={HEIGHT - 2} width={b.width} height={2} fill={b.fill} />}
        </g>
      ))}
    </svg>
  );
});
