import { describe, expect, it } from 'vitest';
import { compactMetrics, confusionFromOutputs, formatMetric, orderMetrics } from './metrics';

describe('metrics', () => {
  it('puts the main metrics first, in their order, then the rest by name', () => {
    const keys = orderMetrics({ zeta: 1, f1: 0.5, alpha: 2, logloss: 0.1, auc: 0.9 }).map(([k]) => k);
    expect(keys).toEqual(['auc', 'logloss', 'f1', 'alpha', 'zeta']);
  });

  it('handles no metrics', () => {
    expect(orderMetrics(null)).toEqual([]);
    expect(compactMetrics(undefined)).toEqual({ text: '', more: 0 });
  });

  it('formats values short', () => {
    expect(formatMetric(0.90723)).toBe('0.9072');
    expect(formatMetric(0.019493)).toBe('0.01949');
    expect(formatMetric(0)).toBe('0');
    expect(formatMetric(7500)).toBe('7500');
    expect(formatMetric(0.0000123)).toBe('1.23e-5');
    expect(formatMetric('0.5')).toBe('0.5');
    expect(formatMetric('n/a')).toBe('n/a');
    expect(formatMetric(null)).toBe('—');
  });

  it('makes a compact key=value line with a count of the rest', () => {
    expect(compactMetrics({ rows: 10, f1: 0, auc: 0.90723, logloss: 0.019493 })).toEqual({
      text: 'auc=0.9072 logloss=0.01949 f1=0',
      more: 1,
    });
  });
});

describe('confusionFromOutputs', () => {
  it('works the counts back from rates', () => {
    // 100 rows, 20 positives, 15 found (recall .75), 5 false alarms: accuracy (15+75)/100
    expect(confusionFromOutputs({ rows: 100, positives: 20, accuracy: 0.9, recall: 0.75, precision: 0.75 })).toEqual({
      tp: 15,
      fn: 5,
      tn: 75,
      fp: 5,
    });
    expect(confusionFromOutputs({ rows: 7500, positives: 26, accuracy: 0.996533, recall: 0 })).toEqual({
      tp: 0,
      fn: 26,
      tn: 7474,
      fp: 0,
    });
  });

  it('gives null without the outputs it needs', () => {
    expect(confusionFromOutputs({ auc: 0.9 })).toBeNull();
    expect(confusionFromOutputs(null)).toBeNull();
  });
});
