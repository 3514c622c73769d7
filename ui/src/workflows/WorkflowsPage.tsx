import { useMemo, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router-dom';
import { getRecentRuns, listSchedules, listWorkflows, type ScheduleFilter } from '../api/calls';
import type { ScheduleRow } from '../api/types';
import { useAuth } from '../auth/AuthContext';
import { ErrorBox } from '../components/ErrorBox';
import { Pager } from '../components/Pager';
import { Skeleton } from '../components/Skeleton';
import { StateBadge } from '../components/StateBadge';
import { formatTime } from '../lib/format';
import { RUN_STATES } from '../lib/states';
import { useDebounced, useSlashFocus } from '../lib/hooks';
import { useCursorPages } from '../lib/useCursorPages';
import { SPARK_RUNS, Sparkline } from '../stats/Sparkline';
import { ImportButton } from './ImportButton';
import { WorkflowActions } from './WorkflowActions';

export function WorkflowsPage() {
  const { project, canEdit, who } = useAuth();
  const [search, setSearch] = useState('');
  const debounced = useDebounced(search.trim(), 250);
  // The filters live in the address, so a link such as /workflows?last_state=failed shares a view.
  const [filters, setFilters] = useSearchParams();
  const schedule = (filters.get('schedule') as ScheduleFilter | null) || null;
  const lastState = filters.get('last_state') || null;
  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(filters);
    if (value) next.set(key, value);
    else next.delete(key);
    setFilters(next, { replace: true });
  };
  const filtered = !!(debounced || schedule || lastState);
  const pages = useCursorPages(`${project ?? ''}|${debounced}|${schedule}|${lastState}`);
  const searchRef = useSlashFocus<HTMLInputElement>();

  const workflows = useQuery({
    queryKey: ['workflows', project, debounced, schedule, lastState, pages.cursor],
    queryFn: () => listWorkflows({ project, search: debounced, schedule, lastState, cursor: pages.cursor }),
    placeholderData: keepPreviousData,
  });
  const schedules = useQuery({ queryKey: ['schedules', project], queryFn: () => listSchedules(project) });
  const byKey = useMemo(() => {
    const m = new Map<string, ScheduleRow>();
    for (const s of schedules.data ?? []) m.set(`${s.project}/${s.workflow}`, s);
    return m;
  }, [schedules.data]);

  const items = workflows.data?.items ?? [];
  // The sparklines of the whole page in one request, after the list (which never waits for it).
  const keys = useMemo(() => items.map((w) => `${w.project}/${w.name}`), [items]);
  const recent = useQuery({
    queryKey: ['recent-runs', keys],
    queryFn: () => getRecentRuns(keys, SPARK_RUNS),
    enabled: keys.length > 0,
    staleTime: 10_000,
    refetchInterval: 30_000,
  });
  const mayImport = who?.roles === null || Object.values(who?.roles ?? {}).some((r) => r !== 'viewer');
  const empty = workflows.isSuccess && items.length === 0 && pages.page === 0;

  return (
    <section className="page">
      <div className="page-head">
        <h1>Workflows</h1>
        <input
          ref={searchRef}
          className="search"
          type="search"
          placeholder="Search name, description or owner  ( / )"
          data-testid="workflows-search"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <select
          aria-label="Schedule"
          data-testid="workflows-schedule-filter"
          value={schedule ?? ''}
          onChange={(e) => setFilter('schedule', e.target.value)}
        >
          <option value="">Any schedule</option>
          <option value="active">Scheduled</option>
          <option value="paused">Paused</option>
          <option value="none">No schedule</option>
        </select>
        <select
          aria-label="Last run"
          data-testid="workflows-state-filter"
          value={lastState ?? ''}
          onChange={(e) => setFilter('last_state', e.target.value)}
        >
          <option value="">Any last run</option>
          {RUN_STATES.map((st) => (
            <option key={st} value={st}>
              Last run {st}
            </option>
          ))}
          <option value="none">Never run</option>
        </select>
        <div className="spacer" />
        {mayImport && (
          <Link className="btn primary plain" to="/workflows/new" data-testid="new-workflow">
            New workflow
          </Link>
        )}
        {mayImport && <ImportButton project={project} />}
      </div>
      <ErrorBox error={workflows.error} testId="workflows-error" />
      <ErrorBox error={recent.error} testId="sparklines-error" />
      <Skeleton loading={workflows.isPending} />
      {empty &&
        (filtered ? (
          <div className="empty" data-testid="workflows-empty">
            No workflow matches {debounced ? `“${debounced}”` : 'these filters'}
            {project ? ` in ${project}` : ''}. Clear the search and filters to see them all.
          </div>
        ) : (
          <div className="empty" data-testid="workflows-empty">
            <h3>No workflows{project ? ` in ${project}` : ''} yet</h3>
            <p>
              {mayImport ? (
                <>
                  Build one with <b>New workflow</b>, import a YAML or JSON file with <b>Import file</b>, or apply one
                  from the command line:
                </>
              ) : (
                <>Ask an editor of the project to apply one, for example:</>
              )}
            </p>
            <pre>shoal workflow apply examples/hello_ml.yaml</pre>
          </div>
        ))}
      {items.length > 0 && (
        <table className={`table ${workflows.isPlaceholderData ? 'stale' : ''}`} data-testid="workflows-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Project</th>
              <th className="num">Version</th>
              <th>Owner</th>
              <th>Description</th>
              <th>Schedule</th>
              <th>Last run</th>
              <th title={`Durations of the last ${SPARK_RUNS} runs, newest at the right; failed runs marked red`}>
                Recent runs
              </th>
              <th className="right">Actions</th>
            </tr>
          </thead>
          <tbody>
            {items.map((w) => {
              const s = byKey.get(`${w.project}/${w.name}`);
              return (
                <tr key={`${w.project}/${w.name}`} data-testid={`workflow-row-${w.name}`}>
                  <td>
                    <Link className="strong" to={`/workflows/${encodeURIComponent(w.project)}/${encodeURIComponent(w.name)}`}>
                      {w.name}
                    </Link>
                  </td>
                  <td className="muted">{w.project}</td>
                  <td className="num">v{w.version}</td>
                  <td className="muted">{w.owner ?? '—'}</td>
                  <td className="desc" title={w.description ?? ''}>
                    {w.description || <span className="muted">—</span>}
                  </td>
                  <td>
                    {w.schedule ? (
                      <div className="sched">
                        <code>{w.schedule}</code>
                        {w.paused ? (
                          <span className="tag warn">paused</span>
                        ) : (
                          s?.next_fire_at && <span className="muted small">next {formatTime(s.next_fire_at)}</span>
                        )}
                      </div>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                  <td>
                    <StateBadge state={w.last_run_state} />
                  </td>
                  <td className="spark-cell">
                    <Sparkline
                      name={w.name}
                      runs={recent.data ? (recent.data.workflows[`${w.project}/${w.name}`] ?? []) : null}
                    />
                  </td>
                  <td className="right">
                    <WorkflowActions
                      project={w.project}
                      name={w.name}
                      hasSchedule={!!w.schedule}
                      paused={w.paused}
                      canEdit={canEdit(w.project)}
                    />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {(pages.page > 0 || workflows.data?.next_cursor) && (
        <Pager
          page={pages.page}
          nextCursor={workflows.data?.next_cursor}
          onFirst={pages.reset}
          onPrev={pages.prev}
          onNext={() => pages.next(workflows.data?.next_cursor)}
          testPrefix="workflows"
        />
      )}
    </section>
  );
}
