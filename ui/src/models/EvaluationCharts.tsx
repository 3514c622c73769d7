/**
 * The pictures of a version's evaluation report (recharts): ROC and PR curves, the confusion
 * matrix at the evaluate task's threshold, feature importance; for regression a residual
 * histogram and predicted against actual. Imported lazily (`EvaluationSection`), so the chart
 * library loads only when a version panel shows an evaluation.
 */
import {
  Bar,
  BarChart,
  CartesianGrid,
  Line,
  LineChart,
  ReferenceLine,
  Scatter,
  ScatterChart,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { Evaluation, EvaluationImportance } from '../api/types';
import { curvePoints, formatCount, histogramBars } from '../lib/evaluation';
import { formatMetric } from '../lib/metrics';
import { ConfusionMatrix } from './ConfusionMatrix';

const W = 258; // two curves side by side fit the 560 px panel
const H = 220;
const IMPORTANCE_W = 520;
const LINE = '#2563eb';
const CHANCE = '#98a2b3';
const AXIS = { fontSize: 10, fill: '#667085' };
const unit = (v: number) => formatMetric(v);
const ticks = [0, 0.25, 0.5, 0.75, 1];

function Curve({
  testId,
  title,
  xs,
  ys,
  xLabel,
  yLabel,
  chance,
}: {
  testId: string;
  title: string;
  xs: number[];
  ys: number[];
  xLabel: string;
  yLabel: string;
  /** a dashed line: what a random score would draw */
  chance: { from: [number, number]; to: [number, number] };
}) {
  const data = curvePoints(xs, ys);
  return (
    <figure className="eval-chart" data-testid={testId} data-points={data.length}>
      <figcaption>{title}</figcaption>
      <LineChart width={W} height={H} data={data} margin={{ top: 6, right: 10, bottom: 18, left: -6 }}>
        <CartesianGrid stroke="#eef0f3" />
        <XAxis
          dataKey="x"
          type="number"
          domain={[0, 1]}
          ticks={ticks}
          tick={AXIS}
          label={{ value: xLabel, position: 'insideBottom', offset: -10, ...AXIS }}
        />
        <YAxis type="number" domain={[0, 1]} ticks={ticks} tick={AXIS} label={{ value: yLabel, angle: -90, position: 'insideLeft', offset: 16, ...AXIS }} />
        <ReferenceLine
          segment={[
            { x: chance.from[0], y: chance.from[1] },
            { x: chance.to[0], y: chance.to[1] },
          ]}
          stroke={CHANCE}
          strokeDasharray="4 4"
          ifOverflow="hidden"
        />
        <Tooltip
          formatter={(v) => unit(Number(v))}
          labelFormatter={(x) => `${xLabel} ${unit(Number(x))}`}
          contentStyle={{ fontSize: 12 }}
        />
        <Line dataKey="y" name={yLabel} type="linear" stroke={LINE} strokeWidth={2} dot={false} isAnimationActive={false} />
      </LineChart>
    </figure>
  );
}

function Importance({ imp }: { imp: EvaluationImportance }) {
  const data = imp.features;
  const what = imp.kind === 'gain' ? 'total gain of its splits' : imp.kind === 'abs_coefficient' ? '|coefficient|' : imp.kind;
  return (
    <figure className="eval-chart wide" data-testid="feature-importance" data-count={data.length}>
      <figcaption>
        Feature importance <span className="muted">({what}; top {data.length})</span>
      </figcaption>
      {data.length === 0 ? (
        <p className="muted small">The model used no feature.</p>
      ) : (
        <BarChart width={IMPORTANCE_W} height={28 + 18 * data.length} data={data} layout="vertical" margin={{ top: 4, right: 16, bottom: 4, left: 4 }}>
          <CartesianGrid stroke="#eef0f3" horizontal={false} />
          <XAxis type="number" tick={AXIS} tickFormatter={unit} />
          <YAxis type="category" dataKey="feature" width={150} tick={{ ...AXIS, fontSize: 11 }} interval={0} />
          <Tooltip formatter={(v) => unit(Number(v))} contentStyle={{ fontSize: 12 }} cursor={{ fill: '#f5f7ff' }} />
          <Bar dataKey="value" name={imp.kind} fill={LINE} isAnimationActive={false} barSize={12} />
        </BarChart>
      )}
    </figure>
  );
}

function Binary({ report: r }: { report: Evaluation }) {
  const base = r.rows && r.positives != null ? r.positives / r.rows : null;
  return (
    <>
      <div className="eval-row">
        {r.roc && (
          <Curve
            testId="roc-curve"
            title={`ROC curve${r.auc != null ? ` · AUC ${formatMetric(r.auc)}` : ''}`}
            xs={r.roc.fpr}
            ys={r.roc.tpr}
            xLabel="false positive rate"
            yLabel="true positive rate"
            chance={{ from: [0, 0], to: [1, 1] }}
          />
        )}
        {r.pr && (
          <Curve
            testId="pr-curve"
            title={`Precision–recall${r.average_precision != null ? ` · AP ${formatMetric(r.average_precision)}` : ''}`}
            xs={r.pr.recall}
            ys={r.pr.precision}
            xLabel="recall"
            yLabel="precision"
            chance={{ from: [0, base ?? 0], to: [1, base ?? 0] }}
          />
        )}
      </div>
      {r.confusion && (
        <>
          <h4>Confusion matrix{r.threshold != null && ` at threshold ${formatMetric(r.threshold)}`}</h4>
          <ConfusionMatrix c={r.confusion} threshold={r.threshold} />
        </>
      )}
    </>
  );
}

function Regression({ report: r }: { report: Evaluation }) {
  const bars = r.residuals ? histogramBars(r.residuals.edges, r.residuals.counts) : [];
  const sample = r.predicted_vs_actual ? curvePoints(r.predicted_vs_actual.actual, r.predicted_vs_actual.predicted) : [];
  const all = sample.flatMap((p) => [p.x, p.y]);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  return (
    <div className="eval-row">
      {bars.length > 0 && (
        <figure className="eval-chart" data-testid="residuals" data-points={bars.length}>
          <figcaption>Residuals (actual − predicted)</figcaption>
          <BarChart width={W} height={H} data={bars} margin={{ top: 6, right: 10, bottom: 4, left: -6 }} barCategoryGap={1}>
            <CartesianGrid stroke="#eef0f3" vertical={false} />
            <XAxis dataKey="mid" tick={AXIS} tickFormatter={unit} />
            <YAxis tick={AXIS} tickFormatter={(v) => formatCount(Number(v))} />
            <Tooltip
              formatter={(v) => formatCount(Number(v))}
              labelFormatter={(_, p) => {
                const b = p?.[0]?.payload as { from: number; to: number } | undefined;
                return b ? `${unit(b.from)} to ${unit(b.to)}` : '';
              }}
              contentStyle={{ fontSize: 12 }}
            />
            <Bar dataKey="count" name="rows" fill={LINE} isAnimationActive={false} />
          </BarChart>
        </figure>
      )}
      {sample.length > 0 && (
        <figure className="eval-chart" data-testid="predicted-vs-actual" data-points={sample.length}>
          <figcaption>Predicted vs actual ({sample.length} rows)</figcaption>
          <ScatterChart width={W} height={H} margin={{ top: 6, right: 10, bottom: 18, left: -6 }}>
            <CartesianGrid stroke="#eef0f3" />
            <XAxis dataKey="x" type="number" name="actual" domain={[lo, hi]} tick={AXIS} tickFormatter={unit} label={{ value: 'actual', position: 'insideBottom', offset: -10, ...AXIS }} />
            <YAxis dataKey="y" type="number" name="predicted" domain={[lo, hi]} tick={AXIS} tickFormatter={unit} />
            <ReferenceLine segment={[{ x: lo, y: lo }, { x: hi, y: hi }]} stroke={CHANCE} strokeDasharray="4 4" />
            <Tooltip formatter={(v) => unit(Number(v))} contentStyle={{ fontSize: 12 }} />
            <Scatter data={sample} fill={LINE} fillOpacity={0.5} isAnimationActive={false} />
          </ScatterChart>
        </figure>
      )}
    </div>
  );
}

export function EvaluationCharts({ report }: { report: Evaluation }) {
  return (
    <div className="eval-charts" data-objective={report.objective}>
      {report.objective === 'binary' ? <Binary report={report} /> : <Regression report={report} />}
      {report.rmse != null && <p className="small">rmse {formatMetric(report.rmse)} over {formatCount(report.rows ?? 0)} rows</p>}
      {report.importance && <Importance imp={report.importance} />}
    </div>
  );
}

export default EvaluationCharts;
