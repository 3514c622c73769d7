import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import type { Evaluation } from '../api/types';
import { confusionRates, formatRate } from '../lib/evaluation';
import { ConfusionMatrix } from './ConfusionMatrix';
import { EvaluationCharts } from './EvaluationCharts';
import { EvaluationSection } from './EvaluationSection';

// openapi-fetch takes `fetch` when the client is created (on import): replace it before that.
// It also builds a Request of the path alone, which Node's Request refuses without a base URL.
const fetchMock = vi.hoisted(() => {
  const f = vi.fn<(input: Request | string, init?: RequestInit) => Promise<Response>>();
  globalThis.fetch = f as unknown as typeof fetch;
  const NodeRequest = globalThis.Request;
  globalThis.Request = class extends NodeRequest {
    constructor(input: RequestInfo | URL, init?: RequestInit) {
      super(typeof input === 'string' && input.startsWith('/') ? `http://localhost${input}` : input, init);
    }
  };
  return f;
});

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const REPORT: Evaluation = {
  format: 1,
  objective: 'binary',
  rows: 1000,
  positives: 100,
  threshold: 0.5,
  auc: 0.91234,
  average_precision: 0.61,
  roc: { fpr: [0, 0, 0.1, 0.4, 1], tpr: [0, 0.5, 0.8, 0.95, 1] },
  pr: { recall: [0, 0.5, 0.8, 1], precision: [1, 0.9, 0.6, 0.1] },
  confusion: { tn: 880, fp: 20, fn: 40, tp: 60 },
  importance: {
    kind: 'gain',
    features: [
      { feature: 'ip_clicks_1h', value: 812.5 },
      { feature: 'app', value: 120 },
      { feature: 'hour_of_click', value: 3.25 },
    ],
  },
};

function renderSection(answer: () => Promise<Response>) {
  fetchMock.mockImplementation(answer);
  render(
    <QueryClientProvider client={new QueryClient()}>
      <EvaluationSection project="fraud" model="ctr" version={2} />
    </QueryClientProvider>,
  );
}

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
});

describe('EvaluationSection', () => {
  it("draws the version's report: curves, confusion matrix and importance", async () => {
    renderSection(async () => json(200, REPORT));
    // the first import of recharts (lazy) takes seconds on a busy machine
    const roc = await screen.findByTestId('roc-curve', {}, { timeout: 25_000 });
    const [input] = fetchMock.mock.calls[0];
    expect(new URL(typeof input === 'string' ? input : input.url, 'http://x').pathname).toBe(
      '/api/v1/projects/fraud/models/ctr/versions/2/evaluation',
    );
    expect(roc).toHaveTextContent('ROC curve · AUC 0.9123');
    expect(roc).toHaveAttribute('data-points', '5');
    // the line is drawn through every point: M + 4 L
    const line = roc.querySelector('path.recharts-line-curve');
    expect(line?.getAttribute('d')?.match(/[ML]/g)).toHaveLength(5);
    expect(screen.getByTestId('pr-curve')).toHaveTextContent('AP 0.61');
    expect(screen.getByTestId('confusion-matrix')).toHaveAttribute('data-total', '1000');
    expect(screen.getByTestId('confusion-tp')).toHaveTextContent('60');
    const imp = screen.getByTestId('feature-importance');
    expect(imp).toHaveAttribute('data-count', '3');
    expect(imp).toHaveTextContent('total gain');
    expect(imp.querySelectorAll('.recharts-bar-rectangle')).toHaveLength(3);
    expect(within(imp).getByText('ip_clicks_1h')).toBeInTheDocument();
    expect(screen.queryByTestId('evaluation-empty')).toBeNull();
  }, 30_000);

  it('says how to get an evaluation when the version has none', async () => {
    renderSection(async () =>
      json(404, { error: { code: 'not_found', message: 'model ctr version 2 has no evaluation', details: {} } }),
    );
    const empty = await screen.findByTestId('evaluation-empty');
    expect(empty).toHaveTextContent("This version has no evaluation: register it with evaluation: '${evaluate.evaluation}'");
    expect(screen.queryByTestId('evaluation-error')).toBeNull();
    expect(screen.queryByTestId('roc-curve')).toBeNull();
  });

  it('shows any other error in plain words', async () => {
    renderSection(async () => json(403, { error: { code: 'forbidden', message: 'bob may not read models of project fraud', details: {} } }));
    expect(await screen.findByTestId('evaluation-error')).toHaveTextContent('bob may not read models of project fraud');
    expect(screen.queryByTestId('evaluation-empty')).toBeNull();
  });
});

describe('EvaluationCharts', () => {
  it('draws a regression report as a residual histogram and predicted against actual', () => {
    render(
      <EvaluationCharts
        report={{
          format: 1,
          objective: 'regression',
          rows: 500,
          rmse: 0.31,
          residuals: { edges: [-1, -0.5, 0, 0.5, 1], counts: [10, 240, 230, 20] },
          predicted_vs_actual: { actual: [1, 2, 3], predicted: [1.1, 1.8, 3.2] },
        }}
      />,
    );
    const residuals = screen.getByTestId('residuals');
    expect(residuals.querySelectorAll('.recharts-bar-rectangle')).toHaveLength(4);
    expect(screen.getByTestId('predicted-vs-actual').querySelectorAll('.recharts-scatter-symbol')).toHaveLength(3);
    expect(screen.getByText('rmse 0.31 over 500 rows')).toBeInTheDocument();
    expect(screen.queryByTestId('roc-curve')).toBeNull();
    expect(screen.queryByTestId('feature-importance')).toBeNull();
  }, 30_000);
});

describe('ConfusionMatrix', () => {
  it('shows each count with its share of its row', () => {
    render(<ConfusionMatrix c={{ tn: 880, fp: 20, fn: 40, tp: 60 }} threshold={0.3} />);
    const rate = (k: string) => screen.getByTestId(`confusion-${k}-rate`).textContent;
    // true 0: 880 + 20 = 900 rows; true 1: 40 + 60 = 100 rows
    expect([rate('tn'), rate('fp'), rate('fn'), rate('tp')]).toEqual(['97.78%', '2.22%', '40%', '60%']);
    expect(screen.getByTestId('confusion-tn')).toHaveTextContent('880');
    const m = screen.getByTestId('confusion-matrix');
    expect(m).toHaveTextContent('1,000 rows');
    expect(m).toHaveTextContent('a score ≥ 0.3 predicts 1');
    expect(m).toHaveTextContent('precision 75%'); // 60 / (60 + 20)
    expect(m).toHaveTextContent('accuracy 94%');
  });

  it('has no rate for an empty class', () => {
    const r = confusionRates({ tn: 5, fp: 0, fn: 0, tp: 0 });
    expect([r.tn, r.fp, r.fn, r.tp, r.precision, r.accuracy]).toEqual([1, 0, null, null, null, 1]);
    expect(formatRate(r.tp)).toBe('—');
    expect(formatRate(0.00001)).toBe('<0.01%');
    expect(formatRate(0.999999)).toBe('>99.99%');
  });
});
