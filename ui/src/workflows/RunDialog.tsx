import { useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router-dom';
import { getWorkflow, startRun } from '../api/calls';
import { Dialog } from '../components/Dialog';
import { ErrorBox } from '../components/ErrorBox';
import { Skeleton } from '../components/Skeleton';

function paramText(v: unknown): string {
  if (v == null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Start a run: logical date, run-time params (prefilled with the workflow's), tasks to disable. */
export function RunDialog({ project, name, onClose }: { project: string; name: string; onClose: () => void }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const wf = useQuery({ queryKey: ['workflow', project, name, null], queryFn: () => getWorkflow(project, name) });
  const defaults = useMemo(() => {
    const p = wf.data?.definition.params ?? {};
    return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, paramText(v)]));
  }, [wf.data]);
  const [edits, setEdits] = useState<Record<string, string>>({});
  const [date, setDate] = useState('');
  const [disabled, setDisabled] = useState<Set<string>>(new Set());

  const start = useMutation({
    mutationFn: () =>
      startRun({
        workflow: name,
        project,
        // Only what the user changed: a secret default reads `***` and must not be sent back.
        params: Object.fromEntries(Object.entries(edits).filter(([k, v]) => v !== defaults[k])),
        date: date ? (date.length === 16 ? `${date}:00` : date) : null,
        disable: [...disabled],
      }),
    onSuccess: (run) => {
      void queryClient.invalidateQueries({ queryKey: ['runs'] });
      void queryClient.invalidateQueries({ queryKey: ['workflows'] });
      navigate(`/runs/${encodeURIComponent(run.project)}/${run.id}`);
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    start.mutate();
  };

  const tasks = wf.data?.definition.tasks ?? [];
  const paramKeys = Object.keys(defaults);
  return (
    <Dialog
      title={
        <>
          Run <span className="mono">{project}/{name}</span>
        </>
      }
      onClose={onClose}
      testId="run-dialog"
      footer={
        <>
          <button className="btn" type="button" onClick={onClose}>
            Cancel
          </button>
          <button
            className="btn primary"
            type="submit"
            form="run-form"
            data-testid="run-dialog-submit"
            disabled={!wf.data || start.isPending}
          >
            {start.isPending ? 'Starting…' : 'Start run'}
          </button>
        </>
      }
    >
      <Skeleton loading={wf.isPending} rows={3} />
      <ErrorBox error={wf.error} />
      {wf.data && (
        <form id="run-form" className="form" onSubmit={submit}>
          <label className="field">
            <span>Logical date</span>
            <input
              type="datetime-local"
              data-testid="run-dialog-date"
              value={date}
              onChange={(e) => setDate(e.target.value)}
            />
            <small className="muted">Empty: now, in the workflow's time zone.</small>
          </label>
          <fieldset>
            <legend>Parameters</legend>
            {paramKeys.length === 0 && <p className="muted">This workflow has no params.</p>}
            {paramKeys.map((k) => (
              <label className="field row" key={k}>
                <span className="mono">{k}</span>
                <input
                  data-testid={`run-dialog-param-${k}`}
                  value={edits[k] ?? defaults[k]}
                  onChange={(e) => setEdits((s) => ({ ...s, [k]: e.target.value }))}
                />
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>Disable tasks (they count as succeeded without running)</legend>
            <div className="checks">
              {tasks.map((t) => (
                <label key={t.name} className="check">
                  <input
                    type="checkbox"
                    data-testid={`run-dialog-disable-${t.name}`}
                    checked={disabled.has(t.name)}
                    onChange={(e) =>
                      setDisabled((s) => {
                        const n = new Set(s);
                        if (e.target.checked) n.add(t.name);
                        else n.delete(t.name);
                        return n;
                      })
                    }
                  />
                  <span className="mono">{t.name}</span>
                  <span className="muted">{t.type}</span>
                </label>
              ))}
            </div>
          </fieldset>
          <ErrorBox error={start.error} testId="run-dialog-error" />
        </form>
      )}
    </Dialog>
  );
}
