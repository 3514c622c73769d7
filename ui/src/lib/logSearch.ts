export interface LogMatchLine {
  /** 1-based line number in the whole log. */
  number: number;
  text: string;
  /** [start, end) character ranges of the query in `text`. */
  matches: [number, number][];
}

/**
 * The lines of a log that contain `query` (case-insensitive), each with where it matches.
 * An empty query keeps every line, with no matches.
 */
export function filterLog(lines: readonly string[], query: string): LogMatchLine[] {
  const q = query.toLowerCase();
  const out: LogMatchLine[] = [];
  lines.forEach((text, i) => {
    if (!q) {
      out.push({ number: i + 1, text, matches: [] });
      return;
    }
    const lower = text.toLowerCase();
    const matches: [number, number][] = [];
    let from = 0;
    for (;;) {
      const at = lower.indexOf(q, from);
      if (at === -1) break;
      matches.push([at, at + q.length]);
      from = at + q.length;
    }
    if (matches.length) out.push({ number: i + 1, text, matches });
  });
  return out;
}

/** Split a line into plain and highlighted pieces by its match ranges. */
export function splitByMatches(text: string, matches: [number, number][]): { text: string; hit: boolean }[] {
  const parts: { text: string; hit: boolean }[] = [];
  let at = 0;
  for (const [s, e] of matches) {
    if (s > at) parts.push({ text: text.slice(at, s), hit: false });
    parts.push({ text: text.slice(s, e), hit: true });
    at = e;
  }
  if (at < text.length) parts.push({ text: text.slice(at), hit: false });
  return parts;
}

/** Split log text into lines, without a phantom empty line after the final newline. */
export function splitLines(text: string): string[] {
  if (!text) return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
