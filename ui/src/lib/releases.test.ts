import { describe, expect, it } from 'vitest';
import { releaseLines } from './releases';

const r = (alias: string, action: string, from: number | null, to: number | null, at: string) => ({
  model: 'm',
  alias,
  action,
  from_version: from,
  to_version: to,
  created_at: at,
});

describe('releaseLines', () => {
  it('lists newest first with a sentence per entry', () => {
    const lines = releaseLines([
      r('production', 'release', null, 1, '2026-12-07T21:35:16'),
      r('production', 'release', 1, 2, '2026-12-07T21:35:23'),
      r('production', 'rollback', 2, 1, '2026-12-07T21:40:00'),
    ]);
    expect(lines.map((l) => l.text)).toEqual([
      'production rolled back: v2 → v1',
      'production moved: v1 → v2',
      'production released: → v1',
    ]);
    expect(lines[0].action).toBe('rollback');
  });

  it('keeps the server order for entries of the same instant and handles none', () => {
    const lines = releaseLines([r('a', 'release', null, 1, 't'), r('b', 'release', null, 2, 't')]);
    expect(lines.map((l) => l.alias)).toEqual(['b', 'a']);
    expect(releaseLines(undefined)).toEqual([]);
  });
});
