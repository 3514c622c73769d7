// A small SQL highlighter: enough to read a feature SQL (keywords, functions, strings, numbers,
// comments), not a parser. Concatenating the tokens' text gives back the input exactly.

export type SqlTokenKind = 'keyword' | 'function' | 'string' | 'number' | 'comment' | 'ident' | 'punct' | 'space';

export interface SqlToken {
  kind: SqlTokenKind;
  text: string;
}

export const SQL_KEYWORDS = new Set(
  `select from where group by order having limit offset as and or not in is null like between case when then
  else end join left right inner outer full cross on using union all distinct window over partition rows range
  rows_range preceding following current row unbounded interval hour day minute second week month year asc desc
  with insert into values create table view drop true false cast exists last instance_not_in_window
  exclude current_time maxsize`
    .split(/\s+/)
    .filter(Boolean),
);

const RULES: [SqlTokenKind, RegExp][] = [
  ['space', /\s+/y],
  ['comment', /--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)/y],
  ['string', /'(?:[^']|'')*'?/y],
  ['ident', /"(?:[^"]|"")*"?|`[^`]*`?/y],
  ['number', /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[a-zA-Z]*/y],
  ['ident', /[A-Za-z_][A-Za-z0-9_]*/y],
  ['punct', /[\s\S]/y],
];

export function tokenizeSql(sql: string): SqlToken[] {
  const out: SqlToken[] = [];
  let i = 0;
  while (i < sql.length) {
    for (const [kind, re] of RULES) {
      re.lastIndex = i;
      const m = re.exec(sql);
      if (!m || m[0].length === 0) continue;
      let k = kind;
      if (kind === 'ident' && /^[A-Za-z_]/.test(m[0])) {
        if (SQL_KEYWORDS.has(m[0].toLowerCase())) k = 'keyword';
        else if (/^\s*\(/.test(sql.slice(i + m[0].length))) k = 'function';
      }
      const last = out[out.length - 1];
      if (last && last.kind === k && (k === 'space' || k === 'punct')) last.text += m[0];
      else out.push({ kind: k, text: m[0] });
      i += m[0].length;
      break;
    }
  }
  return out;
}
