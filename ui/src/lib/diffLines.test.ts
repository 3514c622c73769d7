import { describe, expect, it } from 'vitest';
import { diffLines, diffStats } from './diffLines';

const DIFF = `--- w v1
+++ w v2
@@ -1,3 +1,5 @@
 name: w
+schedule:
+  cron: 30 2 * * *
-description: old
 tasks:
`;

describe('diffLines', () => {
  it('tells added, removed, hunk and header lines apart', () => {
    const lines = diffLines(DIFF);
    expect(lines.map((l) => l.kind)).toEqual(['head', 'head', 'hunk', 'same', 'add', 'add', 'del', 'same']);
    expect(lines[4].text).toBe('+schedule:');
    expect(diffStats(lines)).toEqual({ added: 2, removed: 1 });
  });

  it('gives no lines for no difference', () => {
    expect(diffLines('')).toEqual([]);
  });
});
