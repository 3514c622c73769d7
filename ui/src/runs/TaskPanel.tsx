import { useEffect, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { getTaskRun } from '../api/calls';
import type { TaskRun } from '../api/types';
import { ErrorBox } from '../components/ErrorBox';
import { Skeleton } from '../components/Skeleton';
import { StateBadge } from '../components/StateBadge';
import { formatBytes, formatDuration, formatTime, durationBetween } from '../lib/format';
import { isRunTerminal, isTaskTerminal } from '../lib/states';
import { TaskLog } from './TaskLog';

function Json({ value }: { value: unknown }) {
  if (value == null || (typeof value === 'object' && Object.keys(value as object).length === 0)) {
    return <span className="muted">none</span>;
  }
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}

/** The side panel of one task run: state, attempts, timing, outputs, params, log. */
export function TaskPanel({
  project,
  runId,
  runState,
  taskName,
  taskRun,
  disabled,
  canEdit,
  now,
  onClose,
  onRerun,
  rerunPending,
}: {
  project: string;
  runId: number;
  runState: string;
  taskName: string;
  taskRun: TaskRun | undefined;
  disabled: boolean;
  canEdit: boolean;
  now: number;
  onClose: () => void;
  onRerun: (task: string) => void;
  rerunPending: boolean;
}) {
  const detail = useQuery({
    queryKey: ['task', project, runId, taskName],
    queryFn: () => getTaskRun(project, runId, taskName),
    enabled: !!taskRun && taskRun.attempt > 0,
  });
  const [attempt, setAttempt] = useState<number | null>(null);
  const d = detail.data;
  const state = taskRun?.state;
  const attempts = d?.attempts ?? [];
  const latest = attempts.length ? attempts[attempts.length - 1].attempt : null;
  const chosen = attempt ?? latest;
  const follow = !!taskRun && !isTaskTerminal(state) && !isRunTerminal(runState) && state !== 'pending';
  const hasLog = attempts.some((a) => a.attempt === chosen);
  // A task that runs again (retry, rerun, recover) shows its new attempt as it happens.
  useEffect(() => {
    if (follow) setAttempt(null);
  }, [follow]);

  return (
    <aside className="panel" data-testid="task-panel" data-task={taskName}>
      <div className="panel-head">
        <h2 className="mono">{taskName}</h2>
        <StateBadge state={disabled ? 'disabled' : state} testId="task-state" />
        <div className="spacer" />
        {canEdit && (
          <button
            className="btn sm"
            data-testid="rerun-from-task"
            disabled={!isRunTerminal(runState) || rerunPending}
            title={isRunTerminal(runState) ? 'Run this task and everything downstream of it again' : 'The run is still active'}
            onClick={() => onRerun(taskName)}
          >
            Rerun from here
          </button>
        )}
        <button className="link" onClick={onClose} aria-label="close" data-testid="task-panel-close">
          ×
        </button>
      </div>
      {!taskRun && <p className="muted">This task has no task run in this run.</p>}
      {taskRun && (
        <>
          <dl className="kv-grid">
            <dt>Type</dt>
            <dd>{d?.type ?? '—'}</dd>
            <dt>Attempt</dt>
            <dd>
              {taskRun.attempt} of {taskRun.max_attempts}
            </dd>
            <dt>Started</dt>
            <dd className="mono small">{formatTime(taskRun.started_at)}</dd>
            <dt>Ended</dt>
            <dd className="mono small">{formatTime(taskRun.ended_at)}</dd>
            <dt>Duration</dt>
            <dd data-testid="task-duration">
              {formatDuration(taskRun.duration ?? (taskRun.started_at ? durationBetween(taskRun.started_at, taskRun.ended_at, now) : null))}
            </dd>
            {taskRun.pid != null && (
              <>
                <dt>pid</dt>
                <dd className="mono small">{taskRun.pid}</dd>
              </>
            )}
            {disabled && (
              <>
                <dt>Note</dt>
                <dd>disabled for this run: counted as succeeded without running</dd>
              </>
            )}
            {taskRun.note && (
              <>
                <dt>Note</dt>
                <dd>{taskRun.note}</dd>
              </>
            )}
          </dl>
          {taskRun.error && (
            <div className="error" data-testid="task-error">
              {taskRun.error}
            </div>
          )}
          <ErrorBox error={detail.error} />
          <Skeleton loading={detail.isFetching && !d} rows={2} />
          {attempts.length > 0 && (
            <div className="attempts" data-testid="task-attempts">
              <span className="muted">Attempts</span>
              {attempts.map((a) => (
                <button
                  key={a.attempt}
                  className={`chip ${a.attempt === chosen ? 'on' : ''}`}
                  data-testid={`task-attempt-${a.attempt}`}
                  onClick={() => setAttempt(a.attempt)}
                  title={`log ${formatBytes(a.log_bytes)}`}
                >
                  #{a.attempt} <span className="muted">{formatBytes(a.log_bytes)}</span>
                </button>
              ))}
            </div>
          )}
          <details open>
            <summary>Outputs</summary>
            <div data-testid="task-outputs">
              <Json value={taskRun.outputs} />
            </div>
          </details>
          <details>
            <summary>Resolved params</summary>
            {d?.params_error && <div className="error">{d.params_error}</div>}
            <div data-testid="task-params">
              <Json value={d?.params} />
            </div>
            {d?.values && Object.keys(d.values).length > 0 && (
              <>
                <div className="muted small">References</div>
                <Json value={d.values} />
              </>
            )}
          </details>
          <h3>Log{chosen ? ` · attempt ${chosen}` : ''}</h3>
          <TaskLog
            project={project}
            runId={runId}
            task={taskName}
            attempt={attempt !== null && attempt !== latest ? attempt : null}
            follow={follow}
            hasLog={hasLog || follow}
          />
        </>
      )}
    </aside>
  );
}
