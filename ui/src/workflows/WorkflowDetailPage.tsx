import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { getWorkflow, listRuns, listVersions } from '../api/calls';
import { useAuth } from '../auth/AuthContext';
import { ErrorBox } from '../components/ErrorBox';
import { Skeleton } from '../components/Skeleton';
import { DagView } from '../dag/DagView';
import { formatTime } from '../lib/format';
import { isRunTerminal } from '../lib/states';
import { RunsTable } from '../runs/RunsTable';
import { LazyDurationChart } from '../stats/LazyDurationChart';
import { WorkflowActions } from './WorkflowActions';

export function WorkflowDetailPage() {
  const { project = '', name = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const { canEdit } = useAuth();
  const version = params.get('version') ? Number(params.get('version')) : null;

  const wf = useQuery({
    queryKey: ['workflow', project, name, version],
    queryFn: () => getWorkflow(project, name, version),
    placeholderData: keepPreviousData,
  });
  const versions = useQuery({ queryKey: ['workflow', project, name, 'versions'], queryFn: () => listVersions(project, name) });
  const runs = useQuery({
    queryKey: ['runs', 'of', project, name],
    queryFn: () => listRuns({ project, workflow: name, limit: 20 }),
    refetchInterval: (q) => (q.state.data?.items.some((r) => !isRunTerminal(r.state)) ? 3000 : false),
  });

  const current = versions.data?.find((v) => v.current)?.version;
  const d = wf.data;
  return (
    <section className="page">
      <div className="crumbs">
        <Link to="/workflows">Workflows</Link> / <span className="muted">{project}</span> /
      </div>
      <div className="page-head">
        <h1 data-testid="workflow-name">{name}</h1>
        {d && (
          <span className="tag" data-testid="workflow-version">
            v{d.version}
            {current != null && d.version !== current && ' (not current)'}
          </span>
        )}
        <div className="spacer" />
        {d && (
          <WorkflowActions
            project={project}
            name={name}
            hasSchedule={!!d.schedule}
            paused={d.schedule?.paused ?? null}
            canEdit={canEdit(project)}
            onDeleted={() => navigate('/workflows')}
            compact={false}
          />
        )}
      </div>
      <ErrorBox error={wf.error} testId="workflow-error" />
      <Skeleton loading={wf.isPending} rows={6} />
      {d && (
        <>
          <div className="facts">
            {d.definition.description && <div className="desc-full">{d.definition.description}</div>}
            <div>
              <span className="muted">Schedule </span>
              {d.schedule ? (
                <>
                  <code>{d.schedule.cron}</code> <span className="muted">{d.schedule.timezone}</span>
                  {d.schedule.paused ? (
                    <span className="tag warn">paused</span>
                  ) : (
                    d.schedule.next_fire_at && <span className="muted"> · next {formatTime(d.schedule.next_fire_at)}</span>
                  )}
                </>
              ) : (
                <span className="muted">none</span>
              )}
            </div>
            {d.definition.params && Object.keys(d.definition.params).length > 0 && (
              <div>
                <span className="muted">Params </span>
                {Object.entries(d.definition.params).map(([k, v]) => (
                  <code key={k} className="kv">
                    {k}={typeof v === 'string' ? v : JSON.stringify(v)}
                  </code>
                ))}
              </div>
            )}
          </div>
          <DagView tasks={d.definition.tasks} />
        </>
      )}
      {/* Run durations over the last N runs, with success rate (src/stats/DurationChart.tsx) */}
      {d && <LazyDurationChart project={project} name={name} />}
      <div className="cols">
        <div className="col">
          <h2>Recent runs</h2>
          <ErrorBox error={runs.error} />
          <Skeleton loading={runs.isPending} rows={3} />
          {runs.data && runs.data.items.length === 0 && <div className="empty small">No runs yet.</div>}
          {runs.data && runs.data.items.length > 0 && (
            <>
              <RunsTable runs={runs.data.items} showWorkflow={false} />
              <Link className="small" to={`/runs?workflow=${encodeURIComponent(name)}`}>
                All runs of {name} ›
              </Link>
            </>
          )}
        </div>
        <div className="col narrow">
          <h2>Versions</h2>
          <ErrorBox error={versions.error} />
          <Skeleton loading={versions.isPending} rows={3} />
          {versions.data && (
            <table className="table" data-testid="versions-table">
              <tbody>
                {versions.data.map((v) => {
                  const shown = (version ?? current) === v.version;
                  return (
                    <tr key={v.version} className={shown ? 'active' : ''} data-testid={`version-row-${v.version}`}>
                      <td>
                        <button
                          className="link strong"
                          onClick={() => setParams(v.current ? {} : { version: String(v.version) })}
                          title="Show this version's DAG"
                        >
                          v{v.version}
                        </button>
                        {v.current && <span className="tag">current</span>}
                      </td>
                      <td className="mono small muted">{formatTime(v.created_at)}</td>
                      <td className="mono small muted" title={v.spec_hash}>
                        {v.spec_hash.slice(0, 8)}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </div>
      </div>
    </section>
  );
}
