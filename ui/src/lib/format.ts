/** The API writes naive timestamps in UTC; read them as UTC. */
export function parseTime(value: string | null | undefined): Date | null {
  if (!value) return null;
  const hasZone = /[zZ]|[+-]\d\d:?\d\d$/.test(value);
  const d = new Date(hasZone ? value : `${value}Z`);
  return Number.isNaN(d.getTime()) ? null : d;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `2026-12-07 20:59:50` in the browser's time zone. */
export function formatTime(value: string | null | undefined): string {
  const d = parseTime(value);
  if (!d) return '—';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A logical date as the run has it (in its workflow's time zone): `2026-12-08 04:59`. */
export function formatLogicalDate(value: string | null | undefined): string {
  if (!value) return '—';
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(:\d\d)?/.exec(value);
  return m ? `${m[1]} ${m[2]}` : value;
}

/** Seconds as `850ms`, `12.3s`, `4m 05s`, `2h 03m`. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || Number.isNaN(seconds)) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
}

/** Seconds between two timestamps; to now when `end` is missing. */
export function durationBetween(start: string | null | undefined, end: string | null | undefined, now = Date.now()): number | null {
  const a = parseTime(start);
  if (!a) return null;
  const b = parseTime(end);
  return Math.max(0, ((b ? b.getTime() : now) - a.getTime()) / 1000);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
