/** The rows of the compute form: one JSON object, or an array of them. Throws a readable Error. */
export function parseRequestRows(text: string): Record<string, unknown>[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`not JSON: ${(e as Error).message}`);
  }
  const rows = Array.isArray(value) ? value : [value];
  if (rows.length === 0) throw new Error('give at least one row');
  if (rows.some((r) => r === null || typeof r !== 'object' || Array.isArray(r))) {
    throw new Error('each row must be a JSON object of column: value');
  }
  return rows as Record<string, unknown>[];
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A sample request row for a table's columns (`{"ip": 0, "click_time": "2026-…"}`), by SQL type. */
export function sampleRow(columns: Record<string, string>, now = new Date()): Record<string, unknown> {
  const ts = `${now.getUTCFullYear()}-${pad(now.getUTCMonth() + 1)}-${pad(now.getUTCDate())} ${pad(now.getUTCHours())}:${pad(now.getUTCMinutes())}:${pad(now.getUTCSeconds())}`;
  const row: Record<string, unknown> = {};
  for (const [col, type] of Object.entries(columns)) {
    const t = type.toUpperCase();
    if (/TIMESTAMP|DATETIME/.test(t)) row[col] = ts;
    else if (t === 'DATE') row[col] = ts.slice(0, 10);
    else if (/INT|BIGINT|SMALLINT/.test(t)) row[col] = 0;
    else if (/FLOAT|DOUBLE|DECIMAL|REAL|NUMERIC/.test(t)) row[col] = 0.0;
    else if (/BOOL/.test(t)) row[col] = false;
    else row[col] = '';
  }
  return row;
}
