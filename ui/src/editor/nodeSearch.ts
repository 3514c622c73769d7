// Finding a task by name in a big DAG: substring matches first (earliest position, then
// shortest name), then names holding the letters in order (fuzzy), best first.

export interface Match {
  id: string;
  name: string;
}

/** Whether `needle`'s letters appear in `hay` in order; the gap count (smaller: closer), or -1. */
function subsequenceGaps(hay: string, needle: string): number {
  let j = 0;
  let gaps = 0;
  let last = -1;
  for (let i = 0; i < hay.length && j < needle.length; i++) {
    if (hay[i] === needle[j]) {
      if (last >= 0 && i !== last + 1) gaps += 1;
      last = i;
      j += 1;
    }
  }
  return j === needle.length ? gaps : -1;
}

/** The best `limit` tasks for a query (case-insensitive). */
export function searchTasks(tasks: readonly Match[], query: string, limit = 8): Match[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const scored: { m: Match; score: number }[] = [];
  for (const m of tasks) {
    const name = m.name.toLowerCase();
    const at = name.indexOf(q);
    if (name === q) scored.push({ m, score: -1 });
    else if (at >= 0) scored.push({ m, score: at * 100 + name.length });
    else {
      const gaps = subsequenceGaps(name, q);
      if (gaps >= 0) scored.push({ m, score: 100_000 + gaps * 1000 + name.length });
    }
  }
  scored.sort((a, b) => a.score - b.score || a.m.name.localeCompare(b.m.name));
  return scored.slice(0, limit).map((s) => s.m);
}
