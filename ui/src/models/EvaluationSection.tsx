import { lazy, Suspense } from 'react';
import { useQuery } from '@tanstack/react-query';
import { getModelEvaluation } from '../api/calls';
import { ApiError } from '../api/errors';
import { ErrorBox } from '../components/ErrorBox';
import { Skeleton } from '../components/Skeleton';
import type { Confusion } from '../lib/metrics';
import { ConfusionMatrix } from './ConfusionMatrix';

// recharts is big: it loads only once a version with an evaluation is shown.
const EvaluationCharts = lazy(() => import('./EvaluationCharts'));

/** A 404: the version was registered without a report (an empty state, not an error). */
const isMissing = (e: unknown) => e instanceof ApiError && e.status === 404;

/**
 * The "Evaluation" section of a version panel: the report the release task stored with the
 * version, drawn; or what to do to get one. `derived`: a confusion matrix worked back from an
 * evaluate task's outputs, shown when there is no report (versions registered before reports).
 */
export function EvaluationSection({
  project,
  model,
  version,
  derived,
}: {
  project: string;
  model: string;
  version: number;
  derived?: { task: string; confusion: Confusion } | null;
}) {
  const q = useQuery({
    queryKey: ['model', project, model, 'evaluation', version],
    queryFn: () => getModelEvaluation(project, model, version),
    staleTime: Infinity, // a version, and so its report, never changes
    retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
  });
  return (
    <section data-testid="evaluation" className="evaluation">
      <h3>Evaluation</h3>
      <Skeleton loading={q.isPending} rows={3} />
      {q.error && !isMissing(q.error) && <ErrorBox error={q.error} testId="evaluation-error" />}
      {isMissing(q.error) && (
        <div className="empty small" data-testid="evaluation-empty">
          <p>
            This version has no evaluation: register it with <code>evaluation: &apos;${'{evaluate.evaluation}'}&apos;</code> in
            the release task, after an evaluate task, to see its ROC and PR curves, confusion matrix and feature importance here.
          </p>
          {derived && (
            <>
              <p className="muted">
                Worked back from the outputs of task <span className="mono">{derived.task}</span> (rows, positives, accuracy,
                recall):
              </p>
              <ConfusionMatrix c={derived.confusion} testId="confusion-matrix-outputs" />
            </>
          )}
        </div>
      )}
      {q.data && (
        <Suspense fallback={<Skeleton loading rows={3} />}>
          <EvaluationCharts report={q.data} />
        </Suspense>
      )}
    </section>
  );
}
