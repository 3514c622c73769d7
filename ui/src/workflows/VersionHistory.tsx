import { useState } from 'react';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { getDiff, restoreVersion } from '../api/calls';
import type { WorkflowVersion } from '../api/types';
import { Dialog } from '../components/Dialog';
import { ErrorBox } from '../components/ErrorBox';
import { Skeleton } from '../components/Skeleton';
import { diffLines, diffStats } from '../lib/diffLines';
import { formatTime } from '../lib/format';

export interface DiffPick {
  old: number;
  new: number;
}

/**
 * A workflow's versions, newest first: show one's DAG, diff it (with the current one, or any two),
 * restore it (editors; asks first; stores its definition as a new version).
 */
export function VersionHistory({
  project,
  name,
  versions,
  shown,
  canEdit,
  onShow,
  onDiff,
  onRestored,
}: {
  project: string;
  name: string;
  versions: WorkflowVersion[];
  shown: number | null;
  canEdit: boolean;
  onShow: (v: WorkflowVersion) => void;
  onDiff: (pick: DiffPick) => void;
  onRestored: (version: number) => void;
}) {
  const queryClient = useQueryClient();
  const [restoring, setRestoring] = useState<number | null>(null);
  const current = versions.find((v) => v.current)?.version ?? null;
  const restore = useMutation({
    mutationFn: (v: number) => restoreVersion(project, name, v),
    onSuccess: (answer) => {
      setRestoring(null);
      void queryClient.invalidateQueries({ queryKey: ['workflow', project, name] });
      void queryClient.invalidateQueries({ queryKey: ['workflows'] });
      void queryClient.invalidateQueries({ queryKey: ['schedules'] });
      onRestored(answer.version);
    },
  });
  const oldest = versions[versions.length - 1]?.version;
  // The version listed just before `v` (versions come newest first).
  const previous = (v: number) => versions.find((x) => x.version < v)?.version ?? v;

  return (
    <>
      <table className="table" data-testid="versions-table">
        <tbody>
          {versions.map((v) => (
            <tr key={v.version} className={shown === v.version ? 'active' : ''} data-testid={`version-row-${v.version}`}>
              <td>
                <button className="link strong" onClick={() => onShow(v)} title="Show this version's DAG">
                  v{v.version}
                </button>
                {v.current && <span className="tag">current</span>}
              </td>
              <td className="mono small muted" title={v.spec_hash}>
                {formatTime(v.created_at)}
              </td>
              <td className="small muted" title="applied by">
                {v.created_by ?? ''}
              </td>
              <td className="right nowrap">
                {current != null && versions.length > 1 && (!v.current || v.version !== oldest) && (
                  <button
                    className="btn sm"
                    data-testid={`diff-version-${v.version}`}
                    title={v.current ? 'What changed from the version before' : 'Compare with the current version'}
                    onClick={() => onDiff(v.current ? { old: previous(v.version), new: v.version } : { old: v.version, new: current })}
                  >
                    Diff
                  </button>
                )}
                {canEdit && !v.current && (
                  <button
                    className="btn sm"
                    data-testid={`restore-version-${v.version}`}
                    title="Make this version's definition the current one (a new version)"
                    onClick={() => setRestoring(v.version)}
                  >
                    Restore
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {restoring != null && (
        <Dialog
          title={`Restore version ${restoring}?`}
          onClose={() => {
            setRestoring(null);
            restore.reset();
          }}
          testId="restore-dialog"
          footer={
            <>
              <button className="btn" onClick={() => setRestoring(null)}>
                Cancel
              </button>
              <button
                className="btn primary"
                data-testid="restore-confirm"
                disabled={restore.isPending}
                onClick={() => restore.mutate(restoring)}
              >
                {restore.isPending ? 'Restoring…' : `Restore v${restoring}`}
              </button>
            </>
          }
        >
          <p>
            This stores the definition of <b>v{restoring}</b> (its tasks, params and schedule) as a new current version
            {current != null && <> after v{current}</>}. The versions in between stay in the history; runs already made keep
            their own version.
          </p>
          <ErrorBox error={restore.error} testId="restore-error" />
        </Dialog>
      )}
    </>
  );
}

/** The unified diff of two versions' YAML, added lines green and removed ones red. */
export function VersionDiff({
  project,
  name,
  versions,
  pick,
  onPick,
  onClose,
}: {
  project: string;
  name: string;
  versions: WorkflowVersion[];
  pick: DiffPick;
  onPick: (pick: DiffPick) => void;
  onClose: () => void;
}) {
  const diff = useQuery({
    queryKey: ['workflow', project, name, 'diff', pick.old, pick.new],
    queryFn: () => getDiff(project, name, pick.old, pick.new),
    placeholderData: keepPreviousData,
  });
  const lines = diff.data ? diffLines(diff.data.diff) : [];
  const stats = diffStats(lines);
  const select = (which: 'old' | 'new') => (
    <select
      data-testid={`diff-${which}`}
      aria-label={which === 'old' ? 'older version' : 'newer version'}
      value={pick[which]}
      onChange={(e) => onPick({ ...pick, [which]: Number(e.target.value) })}
    >
      {versions.map((v) => (
        <option key={v.version} value={v.version}>
          v{v.version}
          {v.current ? ' (current)' : ''}
        </option>
      ))}
    </select>
  );
  return (
    <section className="panel-section" aria-label="version diff">
      <div className="section-head diff-pick">
        <h2>Changes</h2>
        <label className="inline">from {select('old')}</label>
        <label className="inline">to {select('new')}</label>
        {diff.data && lines.length > 0 && (
          <span className="small">
            <span className="diff-added">+{stats.added}</span> <span className="diff-removed">−{stats.removed}</span>
          </span>
        )}
        <div className="spacer" />
        <button className="link" data-testid="diff-close" onClick={onClose} aria-label="close the diff">
          ×
        </button>
      </div>
      <ErrorBox error={diff.error} testId="diff-error" />
      <Skeleton loading={diff.isPending} rows={4} />
      {diff.data && (
        <div data-testid="version-diff">
          {lines.length === 0 ? (
            <div className="empty small">
              v{pick.old} and v{pick.new} are the same definition.
            </div>
          ) : (
            <pre className="diff">
              {lines.map((l, i) => (
                <div key={i} className={`diff-line ${l.kind}`} data-kind={l.kind}>
                  {l.text || ' '}
                </div>
              ))}
            </pre>
          )}
        </div>
      )}
    </section>
  );
}
