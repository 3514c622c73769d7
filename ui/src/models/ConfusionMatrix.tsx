import { confusionRates, formatCount, formatRate } from '../lib/evaluation';
import { formatMetric, type Confusion } from '../lib/metrics';

const CELLS: { key: keyof Confusion; label: string; rate: string; good: boolean }[] = [
  { key: 'tn', label: 'TN', rate: 'of true 0', good: true },
  { key: 'fp', label: 'FP', rate: 'of true 0', good: false },
  { key: 'fn', label: 'FN', rate: 'of true 1', good: false },
  { key: 'tp', label: 'TP', rate: 'of true 1', good: true },
];

/**
 * A binary confusion matrix as a 2×2 grid: rows are the true class, columns the prediction;
 * each cell shows its count and its share of its row (so the TP cell reads as recall), shaded
 * by that share. `threshold`: the score at or above which a row was predicted 1.
 */
export function ConfusionMatrix({ c, threshold, testId = 'confusion-matrix' }: { c: Confusion; threshold?: number; testId?: string }) {
  const r = confusionRates(c);
  return (
    <figure className="confusion-grid" data-testid={testId} data-total={r.total}>
      <table aria-label="confusion matrix">
        <thead>
          <tr>
            <th />
            <th scope="col">predicted 0</th>
            <th scope="col">predicted 1</th>
          </tr>
        </thead>
        <tbody>
          {[0, 1].map((row) => (
            <tr key={row}>
              <th scope="row">true {row}</th>
              {CELLS.slice(row * 2, row * 2 + 2).map((cell) => {
                const rate = r[cell.key];
                return (
                  <td
                    key={cell.key}
                    className={cell.good ? 'good' : 'bad'}
                    data-testid={`confusion-${cell.key}`}
                    style={{ ['--share' as string]: String(rate ?? 0) }}
                    title={`${cell.label}: ${formatCount(c[cell.key])} rows, ${formatRate(rate)} ${cell.rate}`}
                  >
                    <span className="confusion-label">{cell.label}</span>
                    <span className="confusion-count">{formatCount(c[cell.key])}</span>
                    <span className="confusion-rate" data-testid={`confusion-${cell.key}-rate`}>
                      {formatRate(rate)}
                    </span>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <figcaption className="muted small">
        {formatCount(r.total)} rows{threshold != null && <> · a score ≥ {formatMetric(threshold)} predicts 1</>} · precision{' '}
        {formatRate(r.precision)} · accuracy {formatRate(r.accuracy)}; rates are shares of the row
      </figcaption>
    </figure>
  );
}
