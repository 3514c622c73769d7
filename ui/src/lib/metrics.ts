/** The metrics a reader looks for first, in this order; the rest follow by name. */
export const MAIN_METRICS = ['auc', 'logloss', 'f1', 'accuracy', 'precision', 'recall', 'rmse', 'mae', 'r2'];

/** Metric entries, the main ones first (in MAIN_METRICS order), then the others alphabetically. */
export function orderMetrics<T>(metrics: Record<string, T> | null | undefined): [string, T][] {
  const entries = Object.entries(metrics ?? {});
  const rank = (k: string) => {
    const i = MAIN_METRICS.indexOf(k.toLowerCase());
    return i === -1 ? MAIN_METRICS.length : i;
  };
  return entries.sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
}

/** A metric value, short: at most 4 significant digits; integers as they are; text as it is. */
export function formatMetric(value: unknown): string {
  if (typeof value === 'string') {
    const n = Number(value);
    return value.trim() !== '' && Number.isFinite(n) ? formatMetric(n) : value;
  }
  if (typeof value !== 'number') return value == null ? '—' : JSON.stringify(value);
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

/** `auc=0.9072 logloss=0.0195 …` (the first `max`), and how many were left out. */
export function compactMetrics(metrics: Record<string, unknown> | null | undefined, max = 3): { text: string; more: number } {
  const ordered = orderMetrics(metrics);
  const shown = ordered.slice(0, max).map(([k, v]) => `${k}=${formatMetric(v)}`);
  return { text: shown.join(' '), more: Math.max(0, ordered.length - max) };
}
