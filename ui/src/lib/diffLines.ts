export type DiffKind = 'add' | 'del' | 'hunk' | 'head' | 'same';

export interface DiffLine {
  kind: DiffKind;
  text: string;
}

/** The lines of a unified diff, each with what it is: added, removed, a hunk header, a file header. */
export function diffLines(diff: string): DiffLine[] {
  const lines = diff.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.map((text) => {
    if (text.startsWith('+++') || text.startsWith('---')) return { kind: 'head', text };
    if (text.startsWith('@@')) return { kind: 'hunk', text };
    if (text.startsWith('+')) return { kind: 'add', text };
    if (text.startsWith('-')) return { kind: 'del', text };
    return { kind: 'same', text };
  });
}

/** How many lines were added and removed. */
export function diffStats(lines: DiffLine[]): { added: number; removed: number } {
  return {
    added: lines.filter((l) => l.kind === 'add').length,
    removed: lines.filter((l) => l.kind === 'del').length,
  };
}
