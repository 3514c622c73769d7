import { useQueries, useQuery } from '@tanstack/react-query';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { getRun, listModelVersions, listReleases } from '../api/calls';
import type { ModelVersion, Run } from '../api/types';
import { useAuth } from '../auth/AuthContext';
import { ErrorBox } from '../components/ErrorBox';
import { Skeleton } from '../components/Skeleton';
import { formatTime } from '../lib/format';
import { compactMetrics } from '../lib/metrics';
import { ModelReleases } from './ModelReleases';
import { VersionPanel } from './VersionPanel';
import { AliasChips } from './ModelsPage';

/** The task (name) of a run that trained or released a version, from the run's task runs. */
export function taskOf(run: Run | undefined, taskRunId: number | null): string | null {
  if (!run || taskRunId == null) return null;
  return run.tasks.find((t) => t.id === taskRunId)?.task ?? null;
}

export function ModelPage() {
  const { project = '', name = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const { canEdit } = useAuth();
  const selected = params.get('version') ? Number(params.get('version')) : null;

  const versions = useQuery({ queryKey: ['model', project, name, 'versions'], queryFn: () => listModelVersions(project, name) });
  const history = useQuery({ queryKey: ['model', project, name, 'releases'], queryFn: () => listReleases(project, name) });
  const list = [...(versions.data ?? [])].sort((a, b) => b.version - a.version);
  const runIds = [...new Set(list.map((v) => v.run_id).filter((id): id is number => id != null))];
  const runs = useQueries({
    queries: runIds.map((id) => ({ queryKey: ['run', project, id], queryFn: () => getRun(project, id), staleTime: 60_000 })),
  });
  const runById = new Map<number, Run>();
  runs.forEach((q, i) => q.data && runById.set(runIds[i], q.data));
  const shown: ModelVersion | undefined = list.find((v) => v.version === selected);

  return (
    <section className={`page ${shown ? 'run-page with-panel' : ''}`}>
      <div className={shown ? 'run-main' : ''}>
        <div className="crumbs">
          <Link to="/models">Models</Link> / <span className="muted">{project}</span> /
        </div>
        <div className="page-head">
          <h1 data-testid="model-name">{name}</h1>
          {list[0]?.description && <span className="muted">{list[0].description}</span>}
        </div>
        <ErrorBox error={versions.error} testId="model-error" />
        <Skeleton loading={versions.isPending} rows={4} />
        <div className="cols wrap-cols">
          <div className="col">
            <h2>Versions</h2>
            {versions.data && (
              <table className="table" data-testid="model-versions-table">
                <thead>
                  <tr>
                    <th className="num">Version</th>
                    <th>Aliases</th>
                    <th>Flavor</th>
                    <th>Metrics</th>
                    <th>Feature set</th>
                    <th>Trained by</th>
                    <th>Created</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((v) => {
                    const m = compactMetrics(v.metrics, 3);
                    const task = taskOf(v.run_id != null ? runById.get(v.run_id) : undefined, v.task_run_id);
                    return (
                      <tr
                        key={v.version}
                        className={`clickable ${selected === v.version ? 'active' : ''}`}
                        data-testid={`model-version-row-${v.version}`}
                        onClick={() => setParams(selected === v.version ? {} : { version: String(v.version) })}
                      >
                        <td className="num">
                          <button className="link strong" title="Show this version">
                            v{v.version}
                          </button>
                        </td>
                        <td>
                          <AliasChips aliases={v.aliases.map((a) => [a, v.version] as [string, number])} />
                        </td>
                        <td>{v.flavor}</td>
                        <td className="mono small" title={Object.keys(v.metrics ?? {}).join(', ')}>
                          {m.text || <span className="muted">—</span>}
                          {m.more > 0 && <span className="muted"> +{m.more}</span>}
                        </td>
                        <td>
                          {v.feature_set ? (
                            <Link
                              to={`/features/${encodeURIComponent(project)}/${encodeURIComponent(v.feature_set)}${v.feature_set_version != null ? `?version=${v.feature_set_version}` : ''}`}
                              onClick={(e) => e.stopPropagation()}
                            >
                              {v.feature_set}
                              {v.feature_set_version != null && ` v${v.feature_set_version}`}
                            </Link>
                          ) : (
                            <span className="muted">—</span>
                          )}
                        </td>
                        <td>
                          {v.run_id != null ? (
                            <>
                              <Link to={`/runs/${encodeURIComponent(project)}/${v.run_id}${task ? `?task=${encodeURIComponent(task)}` : ''}`} onClick={(e) => e.stopPropagation()}>
                                #{v.run_id}
                              </Link>
                              {task && <span className="muted mono small"> {task}</span>}
                            </>
                          ) : (
                            <span className="muted">—</span>
                          )}
                        </td>
                        <td className="mono small">{formatTime(v.created_at)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
          </div>
          <div className="col narrow">
            {versions.data && (
              <ModelReleases
                project={project}
                name={name}
                versions={versions.data}
                history={history.data}
                canEdit={canEdit(project)}
              />
            )}
            <ErrorBox error={history.error} />
          </div>
        </div>
      </div>
      {shown && (
        <VersionPanel
          project={project}
          version={shown}
          run={shown.run_id != null ? runById.get(shown.run_id) : undefined}
          onClose={() => setParams({})}
        />
      )}
    </section>
  );
}
