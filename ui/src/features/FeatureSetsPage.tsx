import { useQueries } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { listFeatureSets } from '../api/calls';
import { useAuth } from '../auth/AuthContext';
import { ErrorBox } from '../components/ErrorBox';
import { Skeleton } from '../components/Skeleton';
import { formatTime } from '../lib/format';
import { useProjectNames } from '../lib/useProjectNames';

export function FeatureSetsPage() {
  const { project } = useAuth();
  const { names, error: projectsError } = useProjectNames(project);
  const lists = useQueries({
    queries: (names ?? []).map((p) => ({
      queryKey: ['feature-sets', p],
      queryFn: async () => (await listFeatureSets(p)).map((f) => ({ ...f, project: p })),
    })),
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
        <h1>Feature sets</h1>
      </div>
      <ErrorBox error={error} testId="featuresets-error" />
      <Skeleton loading={pending && !error} />
      {empty && (
        <div className="empty" data-testid="featuresets-empty">
          <h3>No feature sets{project ? ` in ${project}` : ''} yet</h3>
          <p>
            A feature set is a feature SQL deployed by a workflow's <code>feature_deploy</code> task or from the command
            line (see <code>docs/features.md</code>):
          </p>
          <pre>shoal features deploy NAME features.sql</pre>
        </div>
      )}
      {items.length > 0 && (
        <table className="table" data-testid="featuresets-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Project</th>
              <th className="num">Version</th>
              <th>Tables</th>
              <th className="num">Features</th>
              <th className="num">Online keys</th>
              <th className="num">Online rows</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {items.map((f) => (
              <tr key={`${f.project}/${f.name}`} data-testid={`featureset-row-${f.name}`}>
                <td>
                  <Link className="strong" to={`/features/${encodeURIComponent(f.project)}/${encodeURIComponent(f.name)}`}>
                    {f.name}
                  </Link>
                </td>
                <td className="muted">{f.project}</td>
                <td className="num">v{f.version}</td>
                <td className="mono small">{f.tables.join(', ')}</td>
                <td className="num">{f.features}</td>
                <td className="num">{f.keys ?? <span className="muted">—</span>}</td>
                <td className="num">{f.rows ?? <span className="muted">—</span>}</td>
                <td className="mono small">{formatTime(f.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
