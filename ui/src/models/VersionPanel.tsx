import { Link } from 'react-router-dom';
import type { ModelVersion, Run } from '../api/types';
import { confusionFromOutputs, formatMetric, MAIN_METRICS, orderMetrics, type Confusion } from '../lib/metrics';

function KvTable({ entries, testId }: { entries: [string, unknown][]; testId?: string }) {
  if (entries.length === 0) return <span className="muted">none</span>;
  return (
    <table className="table compact" data-testid={testId}>
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <td className="mono">{k}</td>
            <td className="num mono">{typeof v === 'object' && v !== null ? JSON.stringify(v) : formatMetric(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A 2×2 confusion matrix as a small SVG (cells shaded by their share of the rows). */
export function ConfusionChart({ c }: { c: Confusion }) {
  const total = c.tp + c.fp + c.fn + c.tn || 1;
  const cells: [string, number, number, number, boolean][] = [
    ['TN', c.tn, 0, 0, true],
    ['FP', c.fp, 1, 0, false],
    ['FN', c.fn, 0, 1, false],
    ['TP', c.tp, 1, 1, true],
  ];
  const s = 62;
  const x0 = 58;
  const y0 = 22;
  return (
    <svg width={x0 + 2 * s + 4} height={y0 + 2 * s + 4} className="confusion" data-testid="confusion-matrix" role="img" aria-label="confusion matrix">
      <text x={x0 + s / 2} y={14} className="chart-label" textAnchor="middle">pred 0</text>
      <text x={x0 + s * 1.5} y={14} className="chart-label" textAnchor="middle">pred 1</text>
      <text x={x0 - 6} y={y0 + s / 2 + 4} className="chart-label" textAnchor="end">true 0</text>
      <text x={x0 - 6} y={y0 + s * 1.5 + 4} className="chart-label" textAnchor="end">true 1</text>
      {cells.map(([label, n, col, row, good]) => {
        const share = n / total;
        return (
          <g key={label}>
            <rect
              x={x0 + col * s}
              y={y0 + row * s}
              width={s - 2}
              height={s - 2}
              rx={3}
              fill={good ? '#16a34a' : '#dc2626'}
              fillOpacity={0.08 + 0.6 * Math.sqrt(share)}
            />
            <text x={x0 + col * s + s / 2 - 1} y={y0 + row * s + s / 2 - 2} textAnchor="middle" className="chart-value">
              {n}
            </text>
            <text x={x0 + col * s + s / 2 - 1} y={y0 + row * s + s / 2 + 12} textAnchor="middle" className="chart-label">
              {label}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** Task runs of the training run whose outputs look like an evaluation (they hold a known metric). */
function evaluations(run: Run | undefined, releaseTaskRunId: number | null) {
  if (!run) return [];
  return run.tasks.filter(
    (t) => t.id !== releaseTaskRunId && Object.keys(t.outputs ?? {}).some((k) => MAIN_METRICS.includes(k.toLowerCase())),
  );
}

export function VersionPanel({
  project,
  version: v,
  run,
  onClose,
}: {
  project: string;
  version: ModelVersion;
  run: Run | undefined;
  onClose: () => void;
}) {
  const evals = evaluations(run, v.task_run_id);
  const sig = v.signature;
  return (
    <aside className="panel" data-testid="model-version-panel" data-version={v.version}>
      <div className="panel-head">
        <h2>
          {v.model} v{v.version}
        </h2>
        <span className="tag">{v.flavor}</span>
        <div className="spacer" />
        <button className="link" onClick={onClose} aria-label="close" data-testid="model-version-close">
          ×
        </button>
      </div>
      {v.description && <p>{v.description}</p>}
      <h3>Metrics</h3>
      <KvTable entries={orderMetrics(v.metrics)} testId="model-version-metrics" />
      <h3>Params</h3>
      <KvTable entries={Object.entries(v.params ?? {}).sort(([a], [b]) => a.localeCompare(b))} testId="model-version-params" />
      {evals.map((t) => {
        const c = confusionFromOutputs(t.outputs);
        return (
          <div key={t.id} data-testid={`model-version-eval-${t.task}`}>
            <h3>
              Evaluation: task <span className="mono">{t.task}</span> of run{' '}
              <Link to={`/runs/${encodeURIComponent(project)}/${run?.id}?task=${encodeURIComponent(t.task)}`}>#{run?.id}</Link>
            </h3>
            <KvTable entries={orderMetrics(t.outputs as Record<string, unknown>)} />
            {c && (
              <>
                <div className="muted small">Confusion matrix (worked back from rows, positives, accuracy and recall)</div>
                <ConfusionChart c={c} />
              </>
            )}
          </div>
        );
      })}
      <p className="muted small" data-testid="model-version-eval-note">
        ROC and PR curves and feature importance are not stored with a version (the API returns only its metrics).
      </p>
      {sig && (
        <>
          <h3>Signature</h3>
          {sig.inputs && (
            <div className="small kv-wrap">
              <span className="muted">Inputs </span>
              {Object.entries(sig.inputs).map(([k, t]) => (
                <code key={k} className="kv">
                  {k}:{t}
                  {sig.required?.includes(k) ? '*' : ''}
                </code>
              ))}
            </div>
          )}
          {sig.features && (
            <div className="small kv-wrap" style={{ marginTop: 6 }}>
              <span className="muted">Features ({sig.features.length}) </span>
              {sig.features.map((f) => (
                <code key={f} className="kv">
                  {f}
                </code>
              ))}
            </div>
          )}
        </>
      )}
      <h3>Artifact</h3>
      <div className="mono small wrap">{v.artifact_uri}</div>
    </aside>
  );
}
