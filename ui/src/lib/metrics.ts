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

export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/**
 * A binary confusion matrix worked back from an evaluate task's outputs (`rows`, `positives`,
 * `accuracy`, `recall`), or null when one is missing. The outputs are rounded to 6 digits, so the
 * counts are rounded to whole rows.
 */
export function confusionFromOutputs(o: Record<string, unknown> | null | undefined): Confusion | null {
  const num = (k: string) => (typeof o?.[k] === 'number' ? (o[k] as number) : Number.NaN);
  const rows = num('rows');
  const pos = num('positives');
  const acc = num('accuracy');
  const recall = num('recall');
  if (![rows, pos, acc, recall].every(Number.isFinite) || rows <= 0) return null;
  const tp = Math.round(recall * pos);
  const fn = Math.round(pos) - tp;
  const tn = Math.round(acc * rows) - tp;
  const fp = Math.round(rows - pos) - tn;
  if ([tp, fn, tn, fp].some((n) => n < 0)) return null;
  return { tp, fp, fn, tn };
}
