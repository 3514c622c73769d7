import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { getWorkflow, listRuns, listVersions } from '../api/calls';
import type { Schedule } from '../api/types';
import { useAuth } from '../auth/AuthContext';
import { ErrorBox } from '../components/ErrorBox';
import { Skeleton } from '../components/Skeleton';
import { DagView } from '../dag/DagView';
import { formatTime } from '../lib/format';
import { isRunTerminal } from '../lib/states';
import { RunsTable } from '../runs/RunsTable';
import { LazyDurationChart } from '../stats/LazyDurationChart';
import { describeCron } from '../schedule/cron';
import { ScheduleDialog } from '../schedule/ScheduleDialog';
import { VersionDiff, VersionHistory, type DiffPick } from './VersionHistory';
import { WorkflowActions } from './WorkflowActions';

/** The definition's `schedule:` (with its start and end), as the schedule dialog takes it. */
function specSchedule(raw: Record<string, unknown> | null | undefined): Schedule | null {
  if (!raw || typeof raw.cron !== 'string') return null;
  const text = (v: unknown) => (v == null ? null : String(v));
  return {
    cron: raw.cron,
    timezone: typeof raw.timezone === 'string' ? raw.timezone : 'UTC',
    start: text(raw.start),
    end: text(raw.end),
    catchup: raw.catchup === true,
  };
}

export function WorkflowDetailPage() {
  const { project = '', name = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const { canEdit } = useAuth();
  const version = params.get('version') ? Number(params.get('version')) : null;
  const [editingSchedule, setEditingSchedule] = useState(false);
  const [diff, setDiff] = useState<DiffPick | null>(null);

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

  // The schedule dialog edits the current version's schedule, whichever version is shown.
  const latest = useQuery({
    queryKey: ['workflow', project, name, null],
    queryFn: () => getWorkflow(project, name),
    enabled: version != null || wf.isPlaceholderData,
  });

  const current = versions.data?.find((v) => v.current)?.version;
  const d = wf.data;
  const currentSpec = version == null && !wf.isPlaceholderData ? d : latest.data;
  const editor = canEdit(project);
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
        {d && canEdit(project) && (
          <Link
            className="btn plain"
            data-testid="edit-workflow"
            to={`/workflows/${encodeURIComponent(project)}/${encodeURIComponent(name)}/edit`}
            title="Open the current version in the editor"
          >
            Edit
          </Link>
        )}
        {editor && currentSpec && (
          <button className="btn" data-testid="schedule-edit" onClick={() => setEditingSchedule(true)}>
            Schedule…
          </button>
        )}
        {d && (
          <WorkflowActions
            project={project}
            name={name}
            hasSchedule={!!d.schedule}
            paused={d.schedule?.paused ?? null}
            canEdit={editor}
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
            <div data-testid="workflow-schedule">
              <span className="muted">Schedule </span>
              {d.schedule ? (
                <>
                  <code>{d.schedule.cron}</code> <span className="muted">{d.schedule.timezone}</span>
                  {describeCron(d.schedule.cron) && <span> · {describeCron(d.schedule.cron)}</span>}
                  {d.schedule.paused ? (
                    <span className="tag warn">paused</span>
                  ) : (
                    d.schedule.next_fire_at && <span className="muted"> · next {formatTime(d.schedule.next_fire_at)}</span>
                  )}
                </>
              ) : (
                <span className="muted">none{editor ? ' (Schedule… sets one)' : ''}</span>
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
            <VersionHistory
              project={project}
              name={name}
              versions={versions.data}
              shown={version ?? current ?? null}
              canEdit={editor}
              onShow={(v) => setParams(v.current ? {} : { version: String(v.version) })}
              onDiff={setDiff}
              onRestored={() => {
                setDiff(null);
                setParams({});
              }}
            />
          )}
        </div>
      </div>
      {diff && versions.data && (
        <VersionDiff
          project={project}
          name={name}
          versions={versions.data}
          pick={diff}
          onPick={setDiff}
          onClose={() => setDiff(null)}
        />
      )}
      {editingSchedule && currentSpec && (
        <ScheduleDialog
          project={project}
          workflow={name}
          schedule={specSchedule(currentSpec.definition.schedule)}
          onClose={(changed) => {
            setEditingSchedule(false);
            if (changed) setParams({}); // the new version is the current one: show it
          }}
        />
      )}
    </section>
  );
}
