import { useQueries, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { getModelVersion, listModels } from '../api/calls';
import type { ModelSummary } from '../api/types';
import { useAuth } from '../auth/AuthContext';
import { ErrorBox } from '../components/ErrorBox';
import { Skeleton } from '../components/Skeleton';
import { formatTime } from '../lib/format';
import { useProjectNames } from '../lib/useProjectNames';

/** The flavor of a model's latest version (the list answer does not carry it). */
function Flavor({ m }: { m: ModelSummary }) {
  const v = useQuery({
    queryKey: ['model', m.project, m.name, 'version', m.latest_version],
    queryFn: () => getModelVersion(m.project, m.name, m.latest_version),
    enabled: m.latest_version != null,
    staleTime: 60_000,
  });
  return <>{v.data?.flavor ?? <span className="muted">—</span>}</>;
}

export function AliasChips({ aliases }: { aliases: Record<string, number> | [string, number][] }) {
  const entries = Array.isArray(aliases) ? aliases : Object.entries(aliases);
  if (entries.length === 0) return <span className="muted">—</span>;
  return (
    <span className="chips">
      {entries.map(([a, v]) => (
        <span key={a} className={`alias ${a === 'production' ? 'prod' : ''}`} title={`${a} → v${v}`}>
          {a} <span className="muted">v{v}</span>
        </span>
      ))}
    </span>
  );
}

export function ModelsPage() {
  const { project } = useAuth();
  const { names, error: projectsError } = useProjectNames(project);
  const lists = useQueries({
    queries: (names ?? []).map((p) => ({ queryKey: ['models', p], queryFn: () => listModels(p) })),
  });
  const pending = names === null || lists.some((q) => q.isPending);
  const error = projectsError ?? lists.find((q) => q.error)?.error;
  const items = lists
    .flatMap((q) => q.data ?? [])
    .sort((a, b) => a.project.localeCompare(b.project) || a.name.localeCompare(b.name));
  const empty = !pending && !error && items.length === 0;

  return (
    <section className="page">
      <div className="page-head">
        <h1>Models</h1>
      </div>
      <ErrorBox error={error} testId="models-error" />
      <Skeleton loading={pending && !error} />
      {empty && (
        <div className="empty" data-testid="models-empty">
          <h3>No models{project ? ` in ${project}` : ''} yet</h3>
          <p>
            A model version is registered by a workflow: a <code>train</code> task saves the model and a <code>release</code>{' '}
            task (<code>model: NAME</code>) registers it and points an alias at it. See <code>docs/ml.md</code> (the
            registry) and the example:
          </p>
          <pre>shoal workflow apply examples/talkingdata/workflow.yaml</pre>
        </div>
      )}
      {items.length > 0 && (
        <table className="table" data-testid="models-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Project</th>
              <th className="num">Latest</th>
              <th>Aliases</th>
              <th>Flavor</th>
              <th>Description</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {items.map((m) => (
              <tr key={`${m.project}/${m.name}`} data-testid={`models-row-${m.name}`}>
                <td>
                  <Link className="strong" to={`/models/${encodeURIComponent(m.project)}/${encodeURIComponent(m.name)}`}>
                    {m.name}
                  </Link>
                </td>
                <td className="muted">{m.project}</td>
                <td className="num">{m.latest_version != null ? `v${m.latest_version}` : '—'}</td>
                <td>
                  <AliasChips aliases={m.aliases} />
                </td>
                <td>
                  <Flavor m={m} />
                </td>
                <td className="desc" title={m.description ?? ''}>
                  {m.description || <span className="muted">—</span>}
                </td>
                <td className="mono small">{formatTime(m.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
