import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { deleteWorkflow, exportWorkflow, setSchedulePaused } from '../api/calls';
import { Dialog } from '../components/Dialog';
import { ErrorBox } from '../components/ErrorBox';
import { downloadText } from '../lib/download';
import { RunDialog } from './RunDialog';

/**
 * Run, pause/resume schedule, export, delete: the quick actions of one workflow. Editors only see
 * run, pause and delete; anyone who may read it may export.
 */
export function WorkflowActions({
  project,
  name,
  hasSchedule,
  paused,
  canEdit,
  onDeleted,
  compact = true,
}: {
  project: string;
  name: string;
  hasSchedule: boolean;
  paused: boolean | null;
  canEdit: boolean;
  onDeleted?: () => void;
  compact?: boolean;
}) {
  const queryClient = useQueryClient();
  const [running, setRunning] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['workflows'] });
    void queryClient.invalidateQueries({ queryKey: ['workflow', project, name] });
    void queryClient.invalidateQueries({ queryKey: ['schedules'] });
  };

  const toggle = useMutation({ mutationFn: () => setSchedulePaused(project, name, !paused), onSuccess: refresh });
  const exporter = useMutation({
    mutationFn: () => exportWorkflow(project, name),
    onSuccess: (text) => downloadText(`${name}.yaml`, text),
  });
  const remove = useMutation({
    mutationFn: () => deleteWorkflow(project, name),
    onSuccess: () => {
      setConfirmDelete(false);
      queryClient.removeQueries({ queryKey: ['workflow', project, name] });
      refresh();
      void queryClient.invalidateQueries({ queryKey: ['runs'] });
      onDeleted?.();
    },
  });
  const error = toggle.error ?? exporter.error;
  const cls = compact ? 'btn sm' : 'btn';

  return (
    <div className="actions">
      {canEdit && (
        <button className={`${cls} primary`} data-testid={`run-button-${name}`} onClick={() => setRunning(true)}>
          Run
        </button>
      )}
      {canEdit && hasSchedule && (
        <button
          className={cls}
          data-testid={`schedule-toggle-${name}`}
          onClick={() => toggle.mutate()}
          disabled={toggle.isPending}
          title={paused ? 'Restart scheduled runs' : 'Stop scheduled runs'}
        >
          {paused ? 'Resume' : 'Pause'}
        </button>
      )}
      <button
        className={cls}
        data-testid={`export-button-${name}`}
        onClick={() => exporter.mutate()}
        disabled={exporter.isPending}
        title="Download the YAML file"
      >
        Export
      </button>
      {canEdit && (
        <button className={`${cls} danger`} data-testid={`delete-button-${name}`} onClick={() => setConfirmDelete(true)}>
          Delete
        </button>
      )}
      {error != null && (
        <div className="action-error">
          <ErrorBox
            error={error}
            testId={`action-error-${name}`}
            onClose={() => {
              toggle.reset();
              exporter.reset();
            }}
          />
        </div>
      )}
      {running && <RunDialog project={project} name={name} onClose={() => setRunning(false)} />}
      {confirmDelete && (
        <Dialog
          title={`Delete ${project}/${name}?`}
          onClose={() => {
            setConfirmDelete(false);
            remove.reset();
          }}
          testId="delete-dialog"
          footer={
            <>
              <button className="btn" onClick={() => setConfirmDelete(false)}>
                Cancel
              </button>
              <button
                className="btn danger solid"
                data-testid="delete-confirm"
                onClick={() => remove.mutate()}
                disabled={remove.isPending}
              >
                {remove.isPending ? 'Deleting…' : 'Delete workflow'}
              </button>
            </>
          }
        >
          <p>
            This deletes the workflow <b>{name}</b> with all its versions, its schedule and its runs. It cannot be undone.
          </p>
          <ErrorBox error={remove.error} testId="delete-error" />
        </Dialog>
      )}
    </div>
  );
}
