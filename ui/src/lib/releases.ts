import type { ModelRelease } from '../api/types';

export interface ReleaseLine {
  key: string;
  alias: string;
  action: string;
  /** `production: v1 → v2`, `staging: → v1` (first release), `production: v2 → v1 (rollback)` */
  text: string;
  created_at: string;
}

/** The release history as the timeline shows it: newest first, one sentence per entry. */
export function releaseLines(history: ModelRelease[] | null | undefined): ReleaseLine[] {
  return (history ?? [])
    .map((r, i) => {
      const from = r.from_version == null ? '' : `v${r.from_version} `;
      const to = r.to_version == null ? 'nothing' : `v${r.to_version}`;
      const verb = r.action === 'rollback' ? 'rolled back' : r.from_version == null ? 'released' : 'moved';
      return {
        key: `${i}`,
        alias: r.alias,
        action: r.action,
        text: `${r.alias} ${verb}: ${from}→ ${to}`,
        created_at: r.created_at,
        order: i,
      };
    })
    .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : b.order - a.order))
    .map(({ order: _order, ...line }) => line);
}
