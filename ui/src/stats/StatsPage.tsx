import { useMemo, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router-dom';
import { getRunsPerDay, listWorkflows } from '../api/calls';
import { useAuth } from '../auth/AuthContext';
import { ErrorBox } from '../components/ErrorBox';
import { Skeleton } from '../components/Skeleton';
import { DurationChart } from './DurationChart';
import { RunsPerDayChart } from './RunsPerDayChart';

const DAY_CHOICES = [7, 30, 90] as const;
// The picker lists this many workflows of the project (the API's largest page).
const PICKER_LIMIT = 1000;

/**
 * Statistics: runs by state per day over the switcher's project (or all the user's), and the
 * run durations of one workflow picked below (`?workflow=project/name`, so it can be linked).
 */
export function StatsPage() {
  const { project } = useAuth();
  const [params, setParams] = useSearchParams();
  const [days, setDays] = useState<number>(30);
  const picked = params.get('workflow') ?? '';

  const perDay = useQuery({
    queryKey: ['stats', 'per-day', project, days],
    queryFn: () => getRunsPerDay({ project, days }),
    placeholderData: keepPreviousData,
    refetchInterval: 30_000,
  });
  const workflows = useQuery({
    queryKey: ['workflows', 'picker', project],
    queryFn: () => listWorkflows({ project, limit: PICKER_LIMIT }),
    staleTime: 30_000,
  });
  const options = useMemo(() => {
    const keys = (workflows.data?.items ?? []).map((w) => `${w.project}/${w.name}`);
    // A linked workflow outside the switcher's project still shows as chosen.
    return picked && !keys.includes(picked) ? [picked, ...keys] : keys;
  }, [workflows.data, picked]);
  const slash = picked.indexOf('/');
  const [wfProject, wfName] = slash > 0 ? [picked.slice(0, slash), picked.slice(slash + 1)] : ['', ''];
  const noWorkflows = workflows.isSuccess && workflows.data.items.length === 0;
  const data = perDay.data;

  return (
    <section className="page">
      <div className="page-head">
        <h1>Statistics</h1>
        <span className="muted">{project ? `project ${project}` : 'all your projects'}</span>
      </div>

      <div className="chart-box">
        <div className="chart-head">
          <h2>Runs per day</h2>
          <label className="muted small">
            last{' '}
            <select data-testid="runs-per-day-days" value={days} onChange={(e) => setDays(Number(e.target.value))}>
              {DAY_CHOICES.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>{' '}
            days (UTC, by the day a run was created)
          </label>
        </div>
        <ErrorBox error={perDay.error} testId="runs-per-day-error" />
        <Skeleton loading={perDay.isPending} rows={4} />
        {data && data.days.every((d) => d.total === 0) ? (
          <div className="empty small" data-testid="runs-per-day-empty">
            No runs in the last {days} days{project ? ` in ${project}` : ''}: run a workflow from the{' '}
            <Link to="/workflows">Workflows</Link> page.
          </div>
        ) : (
          data && (
            <div className={perDay.isPlaceholderData ? 'stale' : ''}>
              <RunsPerDayChart data={data} />
            </div>
          )
        )}
      </div>

      <div className="page-head stats-pick">
        <label htmlFor="stats-workflow" className="strong">
          Workflow
        </label>
        <select
          id="stats-workflow"
          data-testid="stats-workflow"
          value={picked}
          disabled={noWorkflows}
          onChange={(e) => setParams(e.target.value ? { workflow: e.target.value } : {}, { replace: true })}
        >
          <option value="">{workflows.isPending ? 'Loading…' : 'Pick a workflow'}</option>
          {options.map((k) => (
            <option key={k} value={k}>
              {project ? k.slice(k.indexOf('/') + 1) : k}
            </option>
          ))}
        </select>
        {wfName && (
          <Link className="small" to={`/workflows/${encodeURIComponent(wfProject)}/${encodeURIComponent(wfName)}`}>
            open the workflow ›
          </Link>
        )}
      </div>
      <ErrorBox error={workflows.error} testId="stats-workflow-error" />
      {noWorkflows && (
        <div className="empty small" data-testid="stats-no-workflows">
          No workflows{project ? ` in ${project}` : ''} yet: import or apply one on the{' '}
          <Link to="/workflows">Workflows</Link> page.
        </div>
      )}
      {!noWorkflows && !wfName && workflows.isSuccess && (
        <div className="empty small" data-testid="stats-pick">
          Pick a workflow to see its run durations and success rate.
        </div>
      )}
      {wfName && <DurationChart key={picked} project={wfProject} name={wfName} />}
    </section>
  );
}
