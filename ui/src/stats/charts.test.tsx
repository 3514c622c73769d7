import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import type { RunPoint, RunsPerDay } from '../api/types';
import { DurationBody, DurationPlot, SummaryLine } from './DurationChart';
import { RunsPerDayChart } from './RunsPerDayChart';
import { Sparkline } from './Sparkline';

afterEach(() => {
  cleanup();
});

const point = (id: number, state: RunPoint['state'], duration: number | null): RunPoint => ({
  id,
  state,
  duration,
  logical_date: `2026-03-0${id}T00:00:00+00:00`,
  trigger: 'manual',
  started_at: '2026-03-01T00:00:00',
  ended_at: duration == null ? null : '2026-03-01T00:00:10',
});

describe('DurationPlot', () => {
  it('draws a point per run with a duration, coloured by state, that opens its run', () => {
    const onOpen = vi.fn();
    const runs = [point(1, 'success', 12), point(2, 'failed', 3), point(3, 'success', 20), point(4, 'running', null)];
    render(<DurationPlot runs={runs} width={600} onOpen={onOpen} />);
    const chart = screen.getByTestId('duration-chart');
    expect(chart).toHaveAttribute('data-points', '3');
    const points = chart.querySelectorAll('[data-testid^="duration-point-"]');
    expect([...points].map((p) => p.getAttribute('data-testid'))).toEqual([
      'duration-point-1',
      'duration-point-2',
      'duration-point-3',
    ]);
    const failed = screen.getByTestId('duration-point-2');
    expect(failed).toHaveAttribute('data-state', 'failed');
    expect(failed).toHaveAttribute('fill', '#dc2626');
    expect(failed).toHaveAttribute('aria-label', 'Run 2, failed, 3.0s: open it');
    fireEvent.click(failed);
    expect(onOpen).toHaveBeenCalledWith(2);
    fireEvent.keyDown(screen.getByTestId('duration-point-3'), { key: 'Enter' });
    expect(onOpen).toHaveBeenLastCalledWith(3);
    // Two points are higher up the chart the longer they took.
    const y = (id: number) => Number(screen.getByTestId(`duration-point-${id}`).getAttribute('cy'));
    expect(y(3)).toBeLessThan(y(1));
    expect(y(1)).toBeLessThan(y(2));
  });
});

describe('SummaryLine', () => {
  it('shows the success rate and percentiles', () => {
    render(
      <SummaryLine
        summary={{ runs: 4, finished: 3, succeeded: 2, success_rate: 2 / 3, mean: 16, p50: 16, p90: 19.2, max: 20 }}
      />,
    );
    const s = screen.getByTestId('duration-summary');
    expect(within(s).getByTestId('duration-summary-success')).toHaveTextContent('success 67%');
    expect(within(s).getByTestId('duration-summary-p50')).toHaveTextContent('p50 16s');
    expect(within(s).getByTestId('duration-summary-p90')).toHaveTextContent('p90 19s');
    expect(s).toHaveTextContent('3 of 4 finished');
  });
});

describe('DurationBody', () => {
  const empty = { runs: 0, finished: 0, succeeded: 0, success_rate: null, mean: null, p50: null, p90: null, max: null };

  it('says how to get runs when there are none', () => {
    render(<DurationBody stats={{ project: 'p', workflow: 'w', last: 50, runs: [], summary: empty }} onOpen={() => {}} />);
    expect(screen.getByTestId('duration-empty')).toHaveTextContent('No runs yet: run it from the Workflows page.');
    expect(screen.queryByTestId('duration-chart')).toBeNull();
  });

  it('shows the summary over the line', () => {
    const summary = { ...empty, runs: 1, finished: 1, succeeded: 1, success_rate: 1, p50: 2, p90: 2, max: 2, mean: 2 };
    render(
      <DurationBody
        stats={{ project: 'p', workflow: 'w', last: 50, runs: [point(1, 'success', 2)], summary }}
        width={400}
        onOpen={() => {}}
      />,
    );
    expect(screen.getByTestId('duration-summary-success')).toHaveTextContent('100%');
    expect(screen.getByTestId('duration-chart')).toHaveAttribute('data-points', '1');
  });
});

describe('RunsPerDayChart', () => {
  it('stacks a bar per state for every day', () => {
    const zero = { queued: 0, running: 0, paused: 0, success: 0, failed: 0, stopped: 0 };
    const data: RunsPerDay = {
      since: '2026-03-08',
      until: '2026-03-10',
      project: null,
      workflow: null,
      states: ['queued', 'running', 'paused', 'success', 'failed', 'stopped'],
      days: [
        { day: '2026-03-08', counts: { ...zero, success: 3, failed: 1 }, total: 4 },
        { day: '2026-03-10', counts: { ...zero, success: 1 }, total: 1 },
      ],
    };
    const { container } = render(<RunsPerDayChart data={data} width={600} />);
    const chart = screen.getByTestId('runs-per-day-chart');
    expect(chart).toHaveAttribute('data-total', '5');
    expect(chart).toHaveAttribute('data-days', '3');
    const fills = [...container.querySelectorAll('.recharts-bar-rectangle path')].map((p) => p.getAttribute('fill'));
    expect(fills.filter((f) => f === '#16a34a')).toHaveLength(2); // success on the 8th and the 10th
    expect(fills.filter((f) => f === '#dc2626')).toHaveLength(1);
  });
});

describe('Sparkline', () => {
  it('draws a bar per run and marks the failed one', () => {
    render(
      <Sparkline
        name="hello"
        runs={[
          { id: 1, state: 'success', duration: 2 },
          { id: 2, state: 'failed', duration: 1 },
          { id: 3, state: 'success', duration: 4 },
        ]}
      />,
    );
    const svg = screen.getByTestId('sparkline-hello');
    expect(svg).toHaveAttribute('data-runs', '3');
    expect(svg.querySelectorAll('g[data-state]')).toHaveLength(3);
    expect(svg.querySelectorAll('g[data-state="failed"] rect')).toHaveLength(2); // bar + mark
    expect(svg).toHaveAttribute('aria-label', 'Last 3 runs: 2 succeeded, 1 failed, median 3.0s');
  });

  it('says so without runs, and holds its place while loading', () => {
    const { container, rerender } = render(<Sparkline name="idle" runs={null} />);
    expect(screen.queryByTestId('sparkline-idle')).toBeNull();
    expect(container.querySelector('svg.sparkline')).not.toBeNull();
    rerender(<Sparkline name="idle" runs={[]} />);
    expect(screen.getByTestId('sparkline-idle')).toHaveTextContent('no runs');
  });
});
