import { Link } from 'react-router-dom';
import type { RunSummary } from '../api/types';
import { StateBadge } from '../components/StateBadge';
import { durationBetween, formatDuration, formatLogicalDate, formatTime } from '../lib/format';
import { useNow } from '../lib/hooks';
import { isRunTerminal } from '../lib/states';

export function RunsTable({ runs, showWorkflow = true, stale = false }: { runs: RunSummary[]; showWorkflow?: boolean; stale?: boolean }) {
  const live = runs.some((r) => !isRunTerminal(r.state));
  const now = useNow(live);
  return (
    <table className={`table ${stale ? 'stale' : ''}`} data-testid="runs-table">
      <thead>
        <tr>
          <th className="num">Run</th>
          {showWorkflow && <th>Workflow</th>}
          {showWorkflow && <th>Project</th>}
          <th className="num">Version</th>
          <th>State</th>
          <th>Trigger</th>
          <th>Logical date</th>
          <th>Created</th>
          <th className="num">Duration</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => {
          const href = `/runs/${encodeURIComponent(r.project)}/${r.id}`;
          return (
            <tr key={`${r.project}/${r.id}`} data-testid={`runs-row-${r.id}`}>
              <td className="num">
                <Link className="strong" to={href}>
                  #{r.id}
                </Link>
              </td>
              {showWorkflow && (
                <td>
                  <Link to={`/workflows/${encodeURIComponent(r.project)}/${encodeURIComponent(r.workflow)}`}>{r.workflow}</Link>
                </td>
              )}
              {showWorkflow && <td className="muted">{r.project}</td>}
              <td className="num">v{r.version}</td>
              <td>
                <Link to={href} className="plain">
                  <StateBadge state={r.state} />
                </Link>
              </td>
              <td className="muted">{r.trigger}</td>
              <td className="mono small">{formatLogicalDate(r.logical_date)}</td>
              <td className="mono small">{formatTime(r.created_at)}</td>
              <td className="num mono small" title="from creation to end">
                {formatDuration(durationBetween(r.created_at, r.ended_at, now))}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
