import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { releaseModel, rollbackModel } from '../api/calls';
import type { ModelRelease, ModelVersion } from '../api/types';
import { Dialog } from '../components/Dialog';
import { ErrorBox } from '../components/ErrorBox';
import { formatTime } from '../lib/format';
import { releaseLines } from '../lib/releases';

/** Aliases (each → its version) with Release and Rollback for editors, and the release history. */
export function ModelReleases({
  project,
  name,
  versions,
  history,
  canEdit,
}: {
  project: string;
  name: string;
  versions: ModelVersion[];
  history: ModelRelease[] | undefined;
  canEdit: boolean;
}) {
  const queryClient = useQueryClient();
  const [releasing, setReleasing] = useState(false);
  const [rollingBack, setRollingBack] = useState<string | null>(null);
  const latest = versions.reduce((m, v) => Math.max(m, v.version), 0);
  const [version, setVersion] = useState<number>(latest);
  const [alias, setAlias] = useState('production');

  const aliases = versions
    .flatMap((v) => v.aliases.map((a) => [a, v.version] as [string, number]))
    .sort(([a], [b]) => (a === 'production' ? -1 : b === 'production' ? 1 : a.localeCompare(b)));

  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['model', project, name] });
    void queryClient.invalidateQueries({ queryKey: ['models'] });
  };
  const release = useMutation({
    mutationFn: () => releaseModel(project, name, version, alias.trim()),
    onSuccess: () => {
      setReleasing(false);
      refresh();
    },
  });
  const rollback = useMutation({
    mutationFn: (a: string) => rollbackModel(project, name, a),
    onSuccess: () => {
      setRollingBack(null);
      refresh();
    },
  });
  const lines = releaseLines(history);

  return (
    <div>
      <div className="section-head">
        <h2>Aliases</h2>
        <div className="spacer" />
        {canEdit && versions.length > 0 && (
          <button
            className="btn sm primary"
            data-testid="release-button"
            onClick={() => {
              setVersion(latest);
              setAlias('production');
              release.reset();
              setReleasing(true);
            }}
          >
            Release…
          </button>
        )}
      </div>
      {aliases.length === 0 ? (
        <div className="empty small">No alias points at a version yet.</div>
      ) : (
        <table className="table">
          <tbody>
            {aliases.map(([a, v]) => (
              <tr key={a}>
                <td data-testid={`model-alias-${a}`}>
                  <span className={`alias ${a === 'production' ? 'prod' : ''}`}>{a}</span> → <b>v{v}</b>
                </td>
                <td className="right">
                  {canEdit && (
                    <button
                      className="btn sm"
                      data-testid={`rollback-button-${a}`}
                      onClick={() => {
                        rollback.reset();
                        setRollingBack(a);
                      }}
                      title="Move the alias back to where it pointed before"
                    >
                      Rollback
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Release history</h2>
      {lines.length === 0 ? (
        <div className="empty small">No releases yet.</div>
      ) : (
        <ol className="timeline" data-testid="release-history">
          {lines.map((l) => (
            <li key={l.key} className={l.action === 'rollback' ? 'rollback' : ''}>
              <span className="timeline-dot" />
              <span>{l.text}</span>
              <span className="mono small muted">{formatTime(l.created_at)}</span>
            </li>
          ))}
        </ol>
      )}

      {releasing && (
        <Dialog
          title={`Release ${name}`}
          onClose={() => setReleasing(false)}
          testId="release-dialog"
          footer={
            <>
              <button className="btn" onClick={() => setReleasing(false)}>
                Cancel
              </button>
              <button
                className="btn primary"
                data-testid="release-confirm"
                disabled={release.isPending || !alias.trim()}
                onClick={() => release.mutate()}
              >
                {release.isPending ? 'Releasing…' : `Point ${alias.trim() || '…'} at v${version}`}
              </button>
            </>
          }
        >
          <div className="form">
            <label className="field row">
              <span>Version</span>
              <select data-testid="release-version" value={version} onChange={(e) => setVersion(Number(e.target.value))}>
                {[...versions]
                  .sort((a, b) => b.version - a.version)
                  .map((v) => (
                    <option key={v.version} value={v.version}>
                      v{v.version}
                      {v.aliases.length ? ` (${v.aliases.join(', ')})` : ''}
                    </option>
                  ))}
              </select>
            </label>
            <label className="field row">
              <span>Alias</span>
              <input data-testid="release-alias" value={alias} onChange={(e) => setAlias(e.target.value)} />
            </label>
            <p className="muted small">Model servers that follow this alias swap to the version.</p>
            <ErrorBox error={release.error} testId="release-error" />
          </div>
        </Dialog>
      )}
      {rollingBack && (
        <Dialog
          title={`Roll back ${rollingBack}?`}
          onClose={() => setRollingBack(null)}
          testId="rollback-dialog"
          footer={
            <>
              <button className="btn" onClick={() => setRollingBack(null)}>
                Cancel
              </button>
              <button
                className="btn danger solid"
                data-testid="rollback-confirm"
                disabled={rollback.isPending}
                onClick={() => rollback.mutate(rollingBack)}
              >
                {rollback.isPending ? 'Rolling back…' : 'Roll back'}
              </button>
            </>
          }
        >
          <p>
            This moves <b>{rollingBack}</b> of <b>{name}</b> back to the version it pointed at before its last release.
          </p>
          <ErrorBox error={rollback.error} testId="rollback-error" />
        </Dialog>
      )}
    </div>
  );
}
