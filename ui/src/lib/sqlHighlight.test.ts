import { describe, expect, it } from 'vitest';
import { tokenizeSql } from './sqlHighlight';

const kinds = (sql: string) => tokenizeSql(sql).filter((t) => t.kind !== 'space').map((t) => [t.kind, t.text]);

describe('tokenizeSql', () => {
  it('gives back the input exactly', () => {
    const sql = "-- top\nSELECT a, count(*) OVER w AS n FROM t\nWINDOW w AS (PARTITION BY a ORDER BY ts ROWS_RANGE BETWEEN 1h PRECEDING AND CURRENT ROW)\nWHERE s = 'it''s' /* c */";
    expect(tokenizeSql(sql).map((t) => t.text).join('')).toBe(sql);
  });

  it('tells keywords, functions, identifiers, numbers, strings and comments apart', () => {
    expect(kinds("select count(*) AS n, x FROM t -- c\nWHERE y > 1.5 AND z = 'a b'")).toEqual([
      ['keyword', 'select'],
      ['function', 'count'],
      ['punct', '(*)'],
      ['keyword', 'AS'],
      ['ident', 'n'],
      ['punct', ','],
      ['ident', 'x'],
      ['keyword', 'FROM'],
      ['ident', 't'],
      ['comment', '-- c'],
      ['keyword', 'WHERE'],
      ['ident', 'y'],
      ['punct', '>'],
      ['number', '1.5'],
      ['keyword', 'AND'],
      ['ident', 'z'],
      ['punct', '='],
      ['string', "'a b'"],
    ]);
  });

  it('keeps durations as numbers and an unterminated string to the end', () => {
    expect(kinds('BETWEEN 1h PRECEDING')).toEqual([
      ['keyword', 'BETWEEN'],
      ['number', '1h'],
      ['keyword', 'PRECEDING'],
    ]);
    expect(kinds("x = 'oops")).toEqual([
      ['ident', 'x'],
      ['punct', '='],
      ['string', "'oops"],
    ]);
  });
});
