import { describe, expect, it } from 'vitest';
import {
  cronToPreset,
  describeCron,
  formatWeekdays,
  parseTime,
  parseWeekdays,
  presetToCron,
  switchPreset,
  timeText,
  type Preset,
} from './cron';

describe('presets and cron expressions', () => {
  it('makes the expression of each preset', () => {
    expect(presetToCron({ kind: 'hourly', minute: 15 })).toBe('15 * * * *');
    expect(presetToCron({ kind: 'daily', hour: 2, minute: 30 })).toBe('30 2 * * *');
    expect(presetToCron({ kind: 'weekly', days: [3, 1], hour: 2, minute: 30 })).toBe('30 2 * * 1,3');
    expect(presetToCron({ kind: 'weekly', days: [1, 2, 3, 4, 5], hour: 9, minute: 0 })).toBe('0 9 * * 1-5');
    expect(presetToCron({ kind: 'monthly', day: 15, hour: 23, minute: 5 })).toBe('5 23 15 * *');
    expect(presetToCron({ kind: 'custom', expression: ' */5 * * * * ' })).toBe('*/5 * * * *');
  });

  it('reopens an existing cron as the preset that made it', () => {
    expect(cronToPreset('30 2 * * 1,3')).toEqual({ kind: 'weekly', days: [1, 3], hour: 2, minute: 30 });
    expect(cronToPreset('30 2 * * *')).toEqual({ kind: 'daily', hour: 2, minute: 30 });
    expect(cronToPreset('7 * * * *')).toEqual({ kind: 'hourly', minute: 7 });
    expect(cronToPreset('0 6 1 * *')).toEqual({ kind: 'monthly', day: 1, hour: 6, minute: 0 });
    expect(cronToPreset('0 9 * * mon-fri')).toEqual({ kind: 'weekly', days: [1, 2, 3, 4, 5], hour: 9, minute: 0 });
    expect(cronToPreset('0 0 * * 7')).toEqual({ kind: 'weekly', days: [0], hour: 0, minute: 0 });
    expect(cronToPreset('@daily')).toEqual({ kind: 'daily', hour: 0, minute: 0 });
    expect(cronToPreset('@hourly')).toEqual({ kind: 'hourly', minute: 0 });
  });

  it('keeps what no preset makes as a custom expression', () => {
    for (const expr of ['*/15 * * * *', '0 2 * 1 *', '0 2 1 * 1', '0 */2 * * *', '61 2 * * *', '0 2 * *', '@yearly']) {
      expect(cronToPreset(expr).kind).toBe('custom');
    }
    expect(cronToPreset(' 0 2 * 1 * ')).toEqual({ kind: 'custom', expression: '0 2 * 1 *' });
  });

  it('round-trips every preset', () => {
    const presets: Preset[] = [
      { kind: 'hourly', minute: 59 },
      { kind: 'daily', hour: 0, minute: 0 },
      { kind: 'weekly', days: [0, 6], hour: 12, minute: 45 },
      { kind: 'weekly', days: [0, 1, 2, 3, 4, 5, 6], hour: 1, minute: 2 },
      { kind: 'monthly', day: 31, hour: 4, minute: 3 },
    ];
    for (const p of presets) expect(cronToPreset(presetToCron(p))).toEqual(p);
  });

  it('reads and writes day-of-week fields', () => {
    expect(parseWeekdays('5-7')).toEqual([0, 5, 6]);
    expect(parseWeekdays('sun,SAT')).toEqual([0, 6]);
    expect(parseWeekdays('3-1')).toBeNull();
    expect(parseWeekdays('1/2')).toBeNull();
    expect(formatWeekdays([0, 1, 2, 4, 5])).toBe('0-2,4,5');
  });

  it('keeps the time of day when switching presets', () => {
    const daily: Preset = { kind: 'daily', hour: 2, minute: 30 };
    expect(switchPreset(daily, 'weekly', '')).toEqual({ kind: 'weekly', days: [1], hour: 2, minute: 30 });
    expect(switchPreset(daily, 'monthly', '')).toEqual({ kind: 'monthly', day: 1, hour: 2, minute: 30 });
    expect(switchPreset(daily, 'hourly', '')).toEqual({ kind: 'hourly', minute: 30 });
    expect(switchPreset(daily, 'custom', '30 2 * * *')).toEqual({ kind: 'custom', expression: '30 2 * * *' });
  });

  it('reads and writes a time input', () => {
    expect(timeText(2, 5)).toBe('02:05');
    expect(parseTime('02:30')).toEqual({ hour: 2, minute: 30 });
    expect(parseTime('24:00')).toBeNull();
    expect(parseTime('')).toBeNull();
  });
});

describe('describeCron', () => {
  it('says an expression in plain words', () => {
    expect(describeCron('30 2 * * *')).toBe('At 02:30');
    expect(describeCron('30 2 * * 1,3')).toMatch(/02:30.*Monday and Wednesday/);
    expect(describeCron('@hourly')).toMatch(/hour/i);
  });

  it('gives null for what it cannot read', () => {
    expect(describeCron('not a cron')).toBeNull();
    expect(describeCron('0 2 * *')).toBeNull();
  });
});
