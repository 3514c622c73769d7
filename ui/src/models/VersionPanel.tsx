import { Link } from 'react-router-dom';
import type { ModelVersion, Run } from '../api/types';
import { confusionFromOutputs, formatMetric, MAIN_METRICS, orderMetrics } from '../lib/metrics';
import { EvaluationSection } from './EvaluationSection';

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
  const derived = evals
    .map((t) => ({ task: t.task, confusion: confusionFromOutputs(t.outputs) }))
    .find((d): d is { task: string; confusion: NonNullable<typeof d.confusion> } => d.confusion != null);
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
      <EvaluationSection project={project} model={v.model} version={v.version} derived={derived} />
      {evals.map((t) => (
        <div key={t.id} data-testid={`model-version-eval-${t.task}`}>
          <h3>
            Outputs of task <span className="mono">{t.task}</span> of run{' '}
            <Link to={`/runs/${encodeURIComponent(project)}/${run?.id}?task=${encodeURIComponent(t.task)}`}>#{run?.id}</Link>
          </h3>
          {/* its `evaluation` (the report's path) is drawn above */}
          <KvTable entries={orderMetrics(t.outputs as Record<string, unknown>).filter(([k]) => k !== 'evaluation')} />
        </div>
      ))}
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
