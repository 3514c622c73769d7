import { describe, expect, it } from 'vitest';
import type { DayCounts, RecentRun } from '../api/types';
import { dayLabel, dayRows, formatRate, sparkBars, sparkTitle, summaryParts } from './stats';
import { STATE_COLORS } from './states';

const counts = (c: Partial<DayCounts['counts']>): DayCounts['counts'] => ({
  queued: 0,
  running: 0,
  paused: 0,
  success: 0,
  failed: 0,
  stopped: 0,
  ...c,
});

describe('dayRows', () => {
  it('has a row for every day of the range, a missing day at zero', () => {
    const rows = dayRows('2026-02-27', '2026-03-02', [
      { day: '2026-02-27', counts: counts({ success: 2, failed: 1 }), total: 3 },
      { day: '2026-03-01', counts: counts({ running: 1 }), total: 1 },
    ]);
    expect(rows.map((r) => r.day)).toEqual(['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02']);
    expect(rows.map((r) => r.total)).toEqual([3, 0, 1, 0]);
    expect(rows[0]).toMatchObject({ label: 'Feb 27', success: 2, failed: 1, queued: 0 });
    expect(rows[1]).toMatchObject({ success: 0, failed: 0, stopped: 0, running: 0, paused: 0, queued: 0 });
  });

  it('crosses a year end and a leap day in UTC', () => {
    expect(dayRows('2027-12-31', '2028-01-01', []).map((r) => r.day)).toEqual(['2027-12-31', '2028-01-01']);
    expect(dayRows('2028-02-28', '2028-03-01', []).map((r) => r.label)).toEqual(['Feb 28', 'Feb 29', 'Mar 1']);
  });

  it('is empty for a backwards range', () => {
    expect(dayRows('2026-03-02', '2026-03-01', [])).toEqual([]);
    expect(dayLabel('not a day')).toBe('not a day');
  });
});

describe('summary words', () => {
  it('rounds the success rate, keeping a decimal near the ends', () => {
    expect(formatRate(0.75)).toBe('75%');
    expect(formatRate(1)).toBe('100%');
    expect(formatRate(0)).toBe('0%');
    expect(formatRate(0.995)).toBe('99.5%');
    expect(formatRate(null)).toBe('—');
  });

  it('names the rate, the percentiles and what they count', () => {
    const parts = summaryParts({
      runs: 5, finished: 4, succeeded: 3, success_rate: 0.75, mean: 12, p50: 10, p90: 30.5, max: 31,
    });
    expect(parts.map((p) => [p.label, p.value])).toEqual([
      ['success', '75%'],
      ['p50', '10s'],
      ['p90', '31s'],
      ['max', '31s'],
    ]);
    expect(parts[0].title).toBe('3 of 4 finished runs succeeded');
  });
});

const run = (id: number, state: RecentRun['state'], duration: number | null): RecentRun => ({ id, state, duration });

describe('sparkBars', () => {
  const o = { width: 100, height: 23, slots: 10, gap: 1 };

  it('scales heights to the longest run and puts the newest at the right', () => {
    const bars = sparkBars([run(1, 'success', 10), run(2, 'success', 20), run(3, 'failed', 5)], o);
    expect(bars.map((b) => b.x)).toEqual([70, 80, 90]);
    expect(bars.map((b) => b.height)).toEqual([10, 20, 5]); // room = 23 - 3 for the marks
    expect(bars.map((b) => b.y + b.height)).toEqual([20, 20, 20]);
    expect(bars[0].width).toBe(9);
    expect(bars.map((b) => b.bad)).toEqual([false, false, true]);
    expect(bars[2].fill).toBe(STATE_COLORS.failed.solid);
    expect(bars[2].title).toBe('#3 failed 5.0s');
  });

  it('keeps the last `slots` runs, a stub for a run without a duration, a floor for tiny ones', () => {
    const many = Array.from({ length: 15 }, (_, i) => run(i + 1, 'success', i + 1));
    const bars = sparkBars([...many, run(16, 'running', null), run(17, 'success', 0.001)], o);
    expect(bars.map((b) => b.id)).toEqual([8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect(bars[0].x).toBe(0);
    expect(bars[8]).toMatchObject({ height: 2, state: 'running', title: '#16 running (no duration yet)' });
    expect(bars[9].height).toBe(1.5);
    expect(bars[7].height).toBe(20);
  });

  it('draws runs that all took no time as floors, not as NaN', () => {
    const bars = sparkBars([run(1, 'success', 0), run(2, 'success', 0)], o);
    expect(bars.map((b) => b.height)).toEqual([1.5, 1.5]);
  });
});

describe('sparkTitle', () => {
  it('says how the runs went and the median of the succeeded ones', () => {
    expect(sparkTitle([run(1, 'success', 4), run(2, 'failed', 1), run(3, 'success', 2), run(4, 'running', null)])).toBe(
      'Last 4 runs: 2 succeeded, 1 failed, median 3.0s',
    );
    expect(sparkTitle([run(1, 'success', 2)])).toBe('Last 1 run: 1 succeeded, median 2.0s');
    expect(sparkTitle([])).toBe('No runs yet');
  });
});
