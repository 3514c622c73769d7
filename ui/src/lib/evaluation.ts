import type { Confusion } from './metrics';

/**
 * The rates of a 2×2 confusion matrix, each cell over its row (the true class), as a reader of
 * the matrix expects: the true-0 row splits into specificity (tn) and false-positive rate (fp),
 * the true-1 row into miss rate (fn) and recall (tp). `null` where a row or column is empty.
 */
export interface ConfusionRates {
  total: number;
  tn: number | null;
  fp: number | null;
  fn: number | null;
  tp: number | null;
  precision: number | null;
  accuracy: number | null;
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

export function confusionRates(c: Confusion): ConfusionRates {
  const negatives = c.tn + c.fp;
  const positives = c.fn + c.tp;
  const total = negatives + positives;
  return {
    total,
    tn: ratio(c.tn, negatives),
    fp: ratio(c.fp, negatives),
    fn: ratio(c.fn, positives),
    tp: ratio(c.tp, positives),
    precision: ratio(c.tp, c.tp + c.fp),
    accuracy: ratio(c.tn + c.tp, total),
  };
}

/** A rate as a percentage: `99.97%`, `20%`, `<0.01%` for a tiny non-zero share, `—` for none. */
export function formatRate(r: number | null): string {
  if (r == null || !Number.isFinite(r)) return '—';
  if (r > 0 && r < 0.0001) return '<0.01%';
  if (r < 1 && r > 0.9999) return '>99.99%';
  return `${Number((r * 100).toFixed(2))}%`;
}

/** Whole counts with thousands separators: `29,890`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Two arrays of a curve as points for a chart; the shorter one decides the length. */
export function curvePoints(xs: number[], ys: number[]): { x: number; y: number }[] {
  const n = Math.min(xs.length, ys.length);
  return Array.from({ length: n }, (_, i) => ({ x: xs[i], y: ys[i] }));
}

/** A residual histogram's bars: each bin's middle and count. */
export function histogramBars(edges: number[], counts: number[]): { mid: number; count: number; from: number; to: number }[] {
  return counts.map((count, i) => ({ mid: (edges[i] + edges[i + 1]) / 2, count, from: edges[i], to: edges[i + 1] }));
}
