import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { getFeatureSet, listFeatureSetVersions } from '../api/calls';
import { ErrorBox } from '../components/ErrorBox';
import { Skeleton } from '../components/Skeleton';
import { SqlView } from '../components/SqlView';
import { formatTime } from '../lib/format';
import { sampleRow } from '../lib/requestRows';
import { ComputeForm } from './ComputeForm';

export function FeatureSetPage() {
  const { project = '', name = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const version = params.get('version') ? Number(params.get('version')) : null;

  const fs = useQuery({
    queryKey: ['feature-set', project, name, version],
    queryFn: () => getFeatureSet(project, name, version),
    placeholderData: keepPreviousData,
  });
  const versions = useQuery({
    queryKey: ['feature-set-versions', project, name],
    queryFn: () => listFeatureSetVersions(project, name),
  });
  const latest = versions.data?.[0]?.version ?? fs.data?.version ?? null;
  const d = fs.data;
  const mainTable = d ? Object.keys(d.tables)[0] : null;

  return (
    <section className="page">
      <div className="crumbs">
        <Link to="/features">Feature sets</Link> / <span className="muted">{project}</span> /
      </div>
      <div className="page-head">
        <h1 data-testid="featureset-name">{name}</h1>
        {d && (
          <span className="tag" data-testid="featureset-version">
            v{d.version}
            {latest != null && d.version !== latest && ' (not latest)'}
          </span>
        )}
      </div>
      <ErrorBox error={fs.error} testId="featureset-error" />
      <Skeleton loading={fs.isPending} rows={6} />
      {d && (
        <div className="cols">
          <div className="col">
            <div className="facts row-facts">
              <div>
                <span className="muted">Online store </span>
                {d.online ? (
                  <span data-testid="featureset-online">
                    {d.online.keys.toLocaleString()} keys · {d.online.rows.toLocaleString()} rows
                  </span>
                ) : (
                  <span className="muted" data-testid="featureset-online">
                    empty (no online import)
                  </span>
                )}
              </div>
              {d.time_column && (
                <div>
                  <span className="muted">Time column </span>
                  <code>{d.time_column}</code>
                </div>
              )}
              {d.max_rows_per_key != null && (
                <div>
                  <span className="muted">Max rows per key </span>
                  {d.max_rows_per_key.toLocaleString()}
                </div>
              )}
              <div>
                <span className="muted">Created </span>
                <span className="mono small">{formatTime(d.created_at)}</span>
              </div>
            </div>
            <h2>SQL</h2>
            <SqlView sql={d.sql} testId="featureset-sql" />
            <h2>Compute one request row</h2>
            <ComputeForm
              key={`${d.name}/${d.version}`}
              project={project}
              name={name}
              version={version}
              sample={mainTable ? sampleRow(d.tables[mainTable]) : {}}
            />
          </div>
          <div className="col narrow">
            <h2>Versions</h2>
            {versions.data && (
              <table className="table compact" data-testid="featureset-versions">
                <tbody>
                  {versions.data.map((v) => (
                    <tr
                      key={v.version}
                      className={d.version === v.version ? 'active' : ''}
                      data-testid={`featureset-version-row-${v.version}`}
                    >
                      <td>
                        <button
                          className="link strong"
                          onClick={() => setParams(v.version === latest ? {} : { version: String(v.version) })}
                        >
                          v{v.version}
                        </button>
                        {v.version === latest && <span className="tag">latest</span>}
                      </td>
                      <td className="small muted">{formatTime(v.created_at)}</td>
                      <td className="small" title="features · rows in the online store">
                        {v.features} features · {v.rows ? `${v.rows.toLocaleString()} online rows` : 'not online'}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <h2>Features ({d.features.length})</h2>
            <div className="kv-wrap">
              {d.features.map((f) => (
                <code key={f} className="kv">
                  {f}
                </code>
              ))}
            </div>
            <h2>Windows</h2>
            <table className="table compact">
              <tbody>
                {Object.entries(d.windows).map(([w, spec]) => (
                  <tr key={w}>
                    <td className="mono">{w}</td>
                    <td className="small">
                      by <code>{spec.partition_by.join(', ')}</code> · {spec.text}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h2>Tables</h2>
            {Object.entries(d.tables).map(([t, cols]) => (
              <div key={t} className="small kv-wrap" style={{ marginBottom: 6 }}>
                <b className="mono">{t}</b>{' '}
                {Object.entries(cols).map(([c, ty]) => (
                  <code key={c} className="kv">
                    {c}:{ty}
                  </code>
                ))}
              </div>
            ))}
          </div>
        </div>
      )}
    </section>
  );
}
