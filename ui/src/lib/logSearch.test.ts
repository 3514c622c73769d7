import { describe, expect, it } from 'vitest';
import { filterLog, splitByMatches, splitLines } from './logSearch';

const LOG = splitLines('[t] shoal: start 1:1\n[t] extracting cn\n[t] ##shoal:set rows=42\n[t] shoal: end 1:1: exit code 0\n');

describe('filterLog', () => {
  it('keeps every line, numbered, for an empty query', () => {
    const out = filterLog(LOG, '');
    expect(out).toHaveLength(4);
    expect(out.map((l) => l.number)).toEqual([1, 2, 3, 4]);
    expect(out.every((l) => l.matches.length === 0)).toBe(true);
  });

  it('keeps only matching lines, case-insensitively, with their original numbers', () => {
    const out = filterLog(LOG, 'SHOAL');
    expect(out.map((l) => l.number)).toEqual([1, 3, 4]);
    expect(out[0].matches).toEqual([[4, 9]]);
  });

  it('finds every occurrence in a line', () => {
    const [line] = filterLog(['a-a-a'], 'a');
    expect(line.matches).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
  });

  it('treats the query as text, not a pattern', () => {
    expect(filterLog(['x.y', 'xzy'], '.')).toHaveLength(1);
    expect(filterLog(['(a)'], '(')).toHaveLength(1);
  });

  it('returns nothing when nothing matches', () => {
    expect(filterLog(LOG, 'nope')).toEqual([]);
  });
});

describe('splitByMatches / splitLines', () => {
  it('splits a line into plain and highlighted parts', () => {
    expect(splitByMatches('rows=42 rows', [[0, 4], [8, 12]])).toEqual([
      { text: 'rows', hit: true },
      { text: '=42 ', hit: false },
      { text: 'rows', hit: true },
    ]);
  });

  it('does not add an empty last line', () => {
    expect(splitLines('a\nb\n')).toEqual(['a', 'b']);
    expect(splitLines('a\r\nb')).toEqual(['a', 'b']);
    expect(splitLines('')).toEqual([]);
  });
});
