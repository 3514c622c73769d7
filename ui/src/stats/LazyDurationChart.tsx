import { lazy, Suspense } from 'react';

// The chart library loads with the chart, not with the page that shows it.
const DurationChart = lazy(() => import('./DurationChart').then((m) => ({ default: m.DurationChart })));

/** `DurationChart`, loaded on demand; until then an empty box of its height (nothing jumps). */
export function LazyDurationChart({ project, name }: { project: string; name: string }) {
  return (
    <Suspense fallback={<div className="chart-box chart-loading" />}>
      <DurationChart project={project} name={name} />
    </Suspense>
  );
}
