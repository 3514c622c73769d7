import { useMemo } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { getRun, getWorkflow, recoverRun, rerunFrom, runAction } from '../api/calls';
import { useAuth } from '../auth/AuthContext';
import { ErrorBox } from '../components/ErrorBox';
import { Skeleton } from '../components/Skeleton';
import { StateBadge } from '../components/StateBadge';
import { DagView } from '../dag/DagView';
import { durationBetween, formatDuration, formatLogicalDate, formatTime } from '../lib/format';
import { useNow } from '../lib/hooks';
import { isRunTerminal, taskDisplayState } from '../lib/states';
import { Gantt } from './Gantt';
import { TaskPanel } from './TaskPanel';
import { useRunEvents } from './useRunEvents';

export function RunPage() {
  const { project = '', id: idText = '' } = useParams();
  const id = Number(idText);
  const [params, setParams] = useSearchParams();
  const selected = params.get('task');
  const { canEdit } = useAuth();
  const queryClient = useQueryClient();
  const editor = canEdit(project);

  const run = useQuery({ queryKey: ['run', project, id], queryFn: () => getRun(project, id), enabled: Number.isFinite(id) });
  const r = run.data;
  const active = !!r && !isRunTerminal(r.state);
  const stream = useRunEvents(project, id, active);
  const now = useNow(active);

  // The DAG of the run's own version, whatever the workflow's current version is.
  const spec = useQuery({
    queryKey: ['workflow', project, r?.workflow, r?.version],
    queryFn: () => getWorkflow(project, r!.workflow, r!.version),
    enabled: !!r,
    staleTime: Infinity,
  });

  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['run', project, id] });
    void queryClient.invalidateQueries({ queryKey: ['task', project, id] });
    void queryClient.invalidateQueries({ queryKey: ['runs'] });
  };
  const stop = useMutation({ mutationFn: () => runAction(project, id, 'stop'), onSuccess: refresh });
  const pause = useMutation({ mutationFn: (a: 'pause' | 'resume') => runAction(project, id, a), onSuccess: refresh });
  const recover = useMutation({ mutationFn: () => recoverRun(project, id), onSuccess: refresh });
  const rerun = useMutation({ mutationFn: (task: string) => rerunFrom(project, id, task), onSuccess: refresh });
  const actionError = stop.error ?? pause.error ?? recover.error ?? rerun.error;
  const clearErrors = () => [stop, pause, recover, rerun].forEach((m) => m.reset());

  const states = useMemo(() => {
    const m: Record<string, string> = {};
    for (const t of r?.tasks ?? []) m[t.task] = taskDisplayState(t.state, r!.disabled.includes(t.task));
    return m;
  }, [r]);
  const tasks = spec.data?.definition.tasks;
  const order = useMemo(() => (tasks ?? []).map((t) => t.name), [tasks]);

  const select = (task: string | null) =>
    setParams(
      (p) => {
        const n = new URLSearchParams(p);
        if (task) n.set('task', task);
        else n.delete('task');
        return n;
      },
      { replace: true },
    );

  const hasFailures = r?.tasks.some((t) => ['failed', 'stopped', 'upstream_failed'].includes(t.state));
  return (
    <section className={`page run-page ${selected ? 'with-panel' : ''}`}>
      <div className="run-main">
        <div className="crumbs">
          <Link to="/runs">Runs</Link> / <span className="muted">{project}</span> /
        </div>
        <div className="page-head">
          <h1>
            Run #{idText}
            {r && (
              <>
                {' '}
                <Link className="sub" to={`/workflows/${encodeURIComponent(project)}/${encodeURIComponent(r.workflow)}`}>
                  {r.workflow}
                </Link>
              </>
            )}
          </h1>
          {r && <StateBadge state={r.state} testId="run-state" />}
          {active && (
            <span className={`muted small stream-${stream}`} data-testid="run-stream">
              {stream === 'live' ? '● live' : stream === 'reconnecting' ? 'reconnecting…' : ''}
            </span>
          )}
          <div className="spacer" />
          {r && editor && (
            <div className="actions">
              {(r.state === 'running' || r.state === 'queued') && (
                <button className="btn" data-testid="pause-run" onClick={() => pause.mutate('pause')} disabled={pause.isPending}>
                  Pause
                </button>
              )}
              {r.state === 'paused' && (
                <button className="btn" data-testid="resume-run" onClick={() => pause.mutate('resume')} disabled={pause.isPending}>
                  Resume
                </button>
              )}
              {active && (
                <button className="btn danger" data-testid="stop-run" onClick={() => stop.mutate()} disabled={stop.isPending}>
                  {stop.isPending ? 'Stopping…' : 'Stop'}
                </button>
              )}
              {!active && hasFailures && (
                <button
                  className="btn"
                  data-testid="recover-run"
                  onClick={() => recover.mutate()}
                  disabled={recover.isPending}
                  title="Run the failed, stopped and upstream-failed tasks again"
                >
                  Recover
                </button>
              )}
            </div>
          )}
        </div>
        <ErrorBox error={actionError} testId="run-action-error" onClose={clearErrors} />
        <ErrorBox error={run.error} testId="run-error" />
        <Skeleton loading={run.isPending} rows={6} />
        {r && (
          <div className="facts row-facts">
            <span>
              <span className="muted">Version</span> v{r.version}
            </span>
            <span>
              <span className="muted">Trigger</span> {r.trigger}
            </span>
            <span>
              <span className="muted">Logical date</span> <span className="mono">{formatLogicalDate(r.logical_date)}</span>
            </span>
            <span>
              <span className="muted">Started</span> <span className="mono">{formatTime(r.started_at)}</span>
            </span>
            <span>
              <span className="muted">Duration</span>{' '}
              <span data-testid="run-duration">{formatDuration(durationBetween(r.started_at, r.ended_at, now))}</span>
            </span>
            {r.disabled.length > 0 && (
              <span>
                <span className="muted">Disabled</span> {r.disabled.join(', ')}
              </span>
            )}
            {Object.keys(r.params).length > 0 && (
              <span>
                <span className="muted">Params</span>{' '}
                {Object.entries(r.params).map(([k, v]) => (
                  <code key={k} className="kv">
                    {k}={v}
                  </code>
                ))}
              </span>
            )}
          </div>
        )}
        {r?.error && (
          <div className="error" data-testid="run-error-text">
            {r.error}
          </div>
        )}
        <ErrorBox error={spec.error} />
        {tasks && <DagView tasks={tasks} states={states} selected={selected} onSelect={(t) => select(t === selected ? null : t)} />}
        {r && (
          <>
            <h2>Timeline</h2>
            <Gantt tasks={r.tasks} order={order} now={now} disabled={r.disabled} selected={selected} onSelect={select} />
          </>
        )}
      </div>
      {r && selected && (
        <TaskPanel
          key={selected}
          project={project}
          runId={id}
          runState={r.state}
          taskName={selected}
          taskRun={r.tasks.find((t) => t.task === selected)}
          disabled={r.disabled.includes(selected)}
          canEdit={editor}
          now={now}
          onClose={() => select(null)}
          onRerun={(t) => rerun.mutate(t)}
          rerunPending={rerun.isPending}
        />
      )}
    </section>
  );
}
