import { useEffect, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useSearchParams } from 'react-router-dom';
import { listRuns } from '../api/calls';
import { useAuth } from '../auth/AuthContext';
import { ErrorBox } from '../components/ErrorBox';
import { Pager } from '../components/Pager';
import { Skeleton } from '../components/Skeleton';
import { useDebounced, useSlashFocus } from '../lib/hooks';
import { isRunTerminal, RUN_STATES, stateLabel } from '../lib/states';
import { useCursorPages } from '../lib/useCursorPages';
import { RunsTable } from './RunsTable';

const TRIGGERS = ['manual', 'schedule', 'backfill', 'sub_workflow'];

export function RunsPage() {
  const { project } = useAuth();
  const [params, setParams] = useSearchParams();
  const state = params.get('state') ?? '';
  const trigger = params.get('trigger') ?? '';
  const since = params.get('since') ?? '';
  const until = params.get('until') ?? '';
  const [workflowText, setWorkflowText] = useState(params.get('workflow') ?? '');
  const workflow = useDebounced(workflowText.trim(), 250);
  const searchRef = useSlashFocus<HTMLInputElement>();

  const set = (key: string, value: string) =>
    setParams(
      (p) => {
        const n = new URLSearchParams(p);
        if (value) n.set(key, value);
        else n.delete(key);
        return n;
      },
      { replace: true },
    );
  // The workflow filter is typed: put it in the address once it settles.
  useEffect(() => {
    if ((params.get('workflow') ?? '') !== workflow) set('workflow', workflow);
  }, [workflow]);

  const filters = { project, workflow, state, trigger, since, until };
  const pages = useCursorPages(JSON.stringify(filters));
  const badRange = since && until && since > until;
  const runs = useQuery({
    queryKey: ['runs', 'list', filters, pages.cursor],
    queryFn: () => listRuns({ ...filters, cursor: pages.cursor }),
    placeholderData: keepPreviousData,
    enabled: !badRange,
    // The first page follows new and active runs; older pages stay put.
    refetchInterval: (q) =>
      pages.page === 0 && q.state.data?.items.some((r) => !isRunTerminal(r.state)) ? 3000 : pages.page === 0 ? 15000 : false,
  });
  const items = runs.data?.items ?? [];
  const anyFilter = workflow || state || trigger || since || until;

  return (
    <section className="page">
      <div className="page-head">
        <h1>Runs</h1>
      </div>
      <div className="filters">
        <input
          ref={searchRef}
          className="search"
          type="search"
          placeholder="Workflow name  ( / )"
          data-testid="runs-filter-workflow"
          value={workflowText}
          onChange={(e) => setWorkflowText(e.target.value)}
        />
        <label>
          <span className="muted">State</span>
          <select data-testid="runs-filter-state" value={state} onChange={(e) => set('state', e.target.value)}>
            <option value="">any</option>
            {RUN_STATES.map((s) => (
              <option key={s} value={s}>
                {stateLabel(s)}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span className="muted">Trigger</span>
          <select data-testid="runs-filter-trigger" value={trigger} onChange={(e) => set('trigger', e.target.value)}>
            <option value="">any</option>
            {TRIGGERS.map((t) => (
              <option key={t} value={t}>
                {stateLabel(t)}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span className="muted">Logical date from</span>
          <input type="date" data-testid="runs-filter-since" value={since} onChange={(e) => set('since', e.target.value)} />
        </label>
        <label>
          <span className="muted">to</span>
          <input type="date" data-testid="runs-filter-until" value={until} onChange={(e) => set('until', e.target.value)} />
        </label>
        {anyFilter && (
          <button
            className="btn ghost"
            data-testid="runs-filter-clear"
            onClick={() => {
              setWorkflowText('');
              setParams({}, { replace: true });
            }}
          >
            Clear filters
          </button>
        )}
      </div>
      {badRange && <div className="error">The “from” date is after the “to” date.</div>}
      <ErrorBox error={runs.error} testId="runs-error" />
      <Skeleton loading={runs.isPending && !badRange} />
      {runs.isSuccess && items.length === 0 && (
        <div className="empty" data-testid="runs-empty">
          {anyFilter || pages.page > 0 ? (
            <>No run matches these filters{project ? ` in ${project}` : ''}.</>
          ) : (
            <>
              <h3>No runs{project ? ` in ${project}` : ''} yet</h3>
              <p>Start one with the Run button of a workflow, or let a schedule fire.</p>
            </>
          )}
        </div>
      )}
      {items.length > 0 && <RunsTable runs={items} stale={runs.isPlaceholderData} />}
      {(pages.page > 0 || runs.data?.next_cursor) && (
        <Pager
          page={pages.page}
          nextCursor={runs.data?.next_cursor}
          onFirst={pages.reset}
          onPrev={pages.prev}
          onNext={() => pages.next(runs.data?.next_cursor)}
          testPrefix="runs"
        />
      )}
    </section>
  );
}
