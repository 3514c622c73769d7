// The cron builder's logic: presets <-> 5-field cron expressions, and a plain-words description.
// The server decides whether an expression is valid (and when it fires): this only maps the
// shapes the presets make, so an existing schedule reopens as the preset that made it.
import cronstrue from 'cronstrue';

export type PresetKind = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'custom';

export type Preset =
  | { kind: 'hourly'; minute: number }
  | { kind: 'daily'; hour: number; minute: number }
  /** days: 0 = Sunday … 6 = Saturday, ascending, at least one. */
  | { kind: 'weekly'; days: number[]; hour: number; minute: number }
  | { kind: 'monthly'; day: number; hour: number; minute: number }
  | { kind: 'custom'; expression: string };

export const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

// What croniter reads for the aliases shoal accepts.
const ALIASES: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

/** `expr` with an alias (`@daily`) spelled out as 5 fields; anything else trimmed. */
export function expandAlias(expr: string): string {
  const t = expr.trim();
  return ALIASES[t.toLowerCase()] ?? t;
}

function num(field: string, lo: number, hi: number): number | null {
  if (!/^\d{1,2}$/.test(field)) return null;
  const n = Number(field);
  return n >= lo && n <= hi ? n : null;
}

function weekday(field: string): number | null {
  const byName = DAY_NAMES.indexOf(field.toLowerCase());
  if (byName >= 0) return byName;
  const n = num(field, 0, 7);
  return n === null ? null : n % 7; // 7 is Sunday too
}

/** The days of a day-of-week field made of days, lists and ranges (`1,3`, `1-5`, `mon-fri`). */
export function parseWeekdays(field: string): number[] | null {
  const days = new Set<number>();
  for (const part of field.split(',')) {
    const range = part.split('-');
    if (range.length === 1) {
      const d = weekday(range[0]);
      if (d === null) return null;
      days.add(d);
    } else if (range.length === 2) {
      const a = weekday(range[0]);
      // `5-7` (Fri to Sun): 7 ends the range, it is not read as 0 there.
      const b = range[1] === '7' ? 7 : weekday(range[1]);
      if (a === null || b === null || b < a) return null;
      for (let d = a; d <= b; d++) days.add(d % 7);
    } else {
      return null;
    }
  }
  return days.size ? [...days].sort((x, y) => x - y) : null;
}

/** Days as a day-of-week field: runs of three or more as ranges (`1-5`), others listed (`1,3`). */
export function formatWeekdays(days: number[]): string {
  const sorted = [...new Set(days)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    if (j - i >= 2) parts.push(`${sorted[i]}-${sorted[j]}`);
    else for (let k = i; k <= j; k++) parts.push(String(sorted[k]));
    i = j + 1;
  }
  return parts.join(',');
}

/** The cron expression of a preset. */
export function presetToCron(p: Preset): string {
  switch (p.kind) {
    case 'hourly':
      return `${p.minute} * * * *`;
    case 'daily':
      return `${p.minute} ${p.hour} * * *`;
    case 'weekly':
      return `${p.minute} ${p.hour} * * ${formatWeekdays(p.days.length ? p.days : [1])}`;
    case 'monthly':
      return `${p.minute} ${p.hour} ${p.day} * *`;
    case 'custom':
      return p.expression.trim();
  }
}

/** The preset an expression is (so an existing schedule reopens as its preset), else custom. */
export function cronToPreset(expr: string): Preset {
  const custom: Preset = { kind: 'custom', expression: expr.trim() };
  const fields = expandAlias(expr).split(/\s+/);
  if (fields.length !== 5) return custom;
  const [mi, h, dom, mon, dow] = fields;
  const minute = num(mi, 0, 59);
  if (minute === null || mon !== '*') return custom;
  if (h === '*' && dom === '*' && dow === '*') return { kind: 'hourly', minute };
  const hour = num(h, 0, 23);
  if (hour === null) return custom;
  if (dom === '*' && dow === '*') return { kind: 'daily', hour, minute };
  if (dom === '*') {
    const days = parseWeekdays(dow);
    return days ? { kind: 'weekly', days, hour, minute } : custom;
  }
  const day = num(dom, 1, 31);
  if (day !== null && dow === '*') return { kind: 'monthly', day, hour, minute };
  return custom;
}

/** `kind` with the time of day (and what else carries over) of `from`: switching presets keeps 02:30. */
export function switchPreset(from: Preset, kind: PresetKind, expression: string): Preset {
  const hour = 'hour' in from ? from.hour : 0;
  const minute = 'minute' in from ? from.minute : 0;
  switch (kind) {
    case 'hourly':
      return { kind, minute };
    case 'daily':
      return { kind, hour, minute };
    case 'weekly':
      return { kind, days: from.kind === 'weekly' ? from.days : [1], hour, minute };
    case 'monthly':
      return { kind, day: from.kind === 'monthly' ? from.day : 1, hour, minute };
    case 'custom':
      return { kind, expression };
  }
}

/** `HH:MM` of an hour and minute, for a time input. */
export function timeText(hour: number, minute: number): string {
  return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}

/** Hour and minute of a time input's `HH:MM`, or null. */
export function parseTime(text: string): { hour: number; minute: number } | null {
  const m = /^(\d\d):(\d\d)/.exec(text);
  if (!m) return null;
  const hour = Number(m[1]);
  const minute = Number(m[2]);
  return hour < 24 && minute < 60 ? { hour, minute } : null;
}

/** The expression in plain words ("At 02:30 AM, only on Monday and Wednesday"), or null when
 * cronstrue cannot read it (the server's preview says why). */
export function describeCron(expr: string): string | null {
  const t = expandAlias(expr);
  if (t.split(/\s+/).length !== 5) return null;
  try {
    return cronstrue.toString(t, { use24HourTimeFormat: true, verbose: false, throwExceptionOnParseError: true });
  } catch {
    return null;
  }
}
