import { useDelayedFlag } from '../lib/hooks';

/** Placeholder rows, shown only if loading lasts over 200 ms (so fast answers never flash). */
export function Skeleton({ loading, rows = 5 }: { loading: boolean; rows?: number }) {
  const shown = useDelayedFlag(loading, 200);
  if (!shown) return null;
  return (
    <div className="skeleton" data-testid="skeleton" aria-busy="true">
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton-row" />
      ))}
    </div>
  );
}
