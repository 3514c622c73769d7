import { useMemo, useState, type FormEvent } from 'react';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router-dom';
import { getWorkflow, planBackfill, startBackfill, startRun, type BackfillBody } from '../api/calls';
import { Dialog } from '../components/Dialog';
import { ErrorBox } from '../components/ErrorBox';
import { Skeleton } from '../components/Skeleton';
import { fieldErrors, isFieldError } from '../lib/fieldErrors';
import { formatLogicalDate } from '../lib/format';
import { useDebounced } from '../lib/hooks';

type Mode = 'one' | 'backfill';
// Fields the dialog shows an error next to (a run's date has none: its errors go in the box).
const BACKFILL_FIELDS = ['start', 'end', 'parallel', 'order', 'params', 'disable'] as const;

function paramText(v: unknown): string {
  if (v == null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * Start a run (logical date) or a backfill (a range of logical dates, N runs at once, oldest or
 * newest first), with run-time params (prefilled with the workflow's) and tasks to disable.
 */
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
  const [mode, setMode] = useState<Mode>('one');
  const [range, setRange] = useState({ start: '', end: '', parallel: '1', order: 'asc' as 'asc' | 'desc' });
  // Only what the user changed: a secret default reads `***` and must not be sent back.
  const changedParams = () => Object.fromEntries(Object.entries(edits).filter(([k, v]) => v !== defaults[k]));

  const start = useMutation({
    mutationFn: () =>
      startRun({
        workflow: name,
        project,
        params: changedParams(),
        date: date ? (date.length === 16 ? `${date}:00` : date) : null,
        disable: [...disabled],
      }),
    onSuccess: (run) => {
      void queryClient.invalidateQueries({ queryKey: ['runs'] });
      void queryClient.invalidateQueries({ queryKey: ['workflows'] });
      navigate(`/runs/${encodeURIComponent(run.project)}/${run.id}`);
    },
  });

  const parallel = Number(range.parallel);
  const backfillBody = (): BackfillBody => ({
    workflow: name,
    project,
    start: range.start,
    end: range.end,
    parallel: Number.isInteger(parallel) && parallel >= 1 ? parallel : 1,
    order: range.order,
    params: changedParams(),
    disable: [...disabled],
  });
  const backfill = useMutation({
    mutationFn: () => startBackfill(backfillBody()),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['runs'] });
      void queryClient.invalidateQueries({ queryKey: ['workflows'] });
      navigate(`/runs?workflow=${encodeURIComponent(name)}&trigger=backfill`);
    },
  });
  // How many runs the range makes (the server's dry run: the schedule's fire times, else days).
  const planKey = useDebounced(`${range.start}|${range.end}`, 300);
  const [planStart, planEnd] = planKey.split('|');
  const plan = useQuery({
    queryKey: ['backfill-plan', project, name, planStart, planEnd],
    queryFn: () => planBackfill({ ...backfillBody(), start: planStart, end: planEnd, order: 'asc', parallel: 1 }),
    enabled: mode === 'backfill' && !!planStart && !!planEnd && planStart <= planEnd,
    retry: false,
    placeholderData: keepPreviousData,
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (mode === 'backfill') backfill.mutate();
    else start.mutate();
  };
  const rangeBackwards = !!range.start && !!range.end && range.start > range.end;
  // The server's problems stand next to their fields; the rest in the box at the bottom.
  const errors =
    mode === 'backfill'
      ? { ...(plan.isError ? fieldErrors(plan.error) : {}), ...fieldErrors(backfill.error) }
      : fieldErrors(start.error);
  if (rangeBackwards && !errors.end) errors.end = 'the end is before the start';
  const fieldError = (f: string) =>
    errors[f] ? (
      <small className="field-error" data-testid={`run-dialog-${f}-error`} role="alert">
        {errors[f]}
      </small>
    ) : null;
  const submitted = mode === 'backfill' ? backfill.error : start.error;
  const submitError = isFieldError(submitted, BACKFILL_FIELDS) ? null : submitted;
  const pending = start.isPending || backfill.isPending;

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
            disabled={!wf.data || pending || (mode === 'backfill' && (!range.start || !range.end || rangeBackwards))}
          >
            {pending ? 'Starting…' : mode === 'backfill' ? backfillLabel(plan.data?.count, plan.isError) : 'Start run'}
          </button>
        </>
      }
    >
      <Skeleton loading={wf.isPending} rows={3} />
      <ErrorBox error={wf.error} />
      {wf.data && (
        <form id="run-form" className="form" onSubmit={submit}>
          <div className="mode-switch" role="group" aria-label="what to start">
            <button type="button" aria-pressed={mode === 'one'} data-testid="run-mode-one" onClick={() => setMode('one')}>
              One run
            </button>
            <button
              type="button"
              aria-pressed={mode === 'backfill'}
              data-testid="run-mode-backfill"
              onClick={() => setMode('backfill')}
            >
              Backfill
            </button>
          </div>
          {mode === 'one' && (
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
          )}
          {mode === 'backfill' && (
            <div className="backfill-fields form">
              <div className="field-pair">
                <label className="field">
                  <span>From (logical date)</span>
                  <input
                    type="date"
                    data-testid="backfill-start"
                    value={range.start}
                    aria-invalid={!!errors.start}
                    onChange={(e) => setRange((r) => ({ ...r, start: e.target.value }))}
                    required
                  />
                  {fieldError('start')}
                </label>
                <label className="field">
                  <span>To (included)</span>
                  <input
                    type="date"
                    data-testid="backfill-end"
                    value={range.end}
                    aria-invalid={!!errors.end}
                    onChange={(e) => setRange((r) => ({ ...r, end: e.target.value }))}
                    required
                  />
                  {fieldError('end')}
                </label>
              </div>
              <div className="field-pair">
                <label className="field">
                  <span>Runs at once</span>
                  <input
                    type="number"
                    min={1}
                    max={1000}
                    data-testid="backfill-parallelism"
                    value={range.parallel}
                    aria-invalid={!!errors.parallel}
                    onChange={(e) => setRange((r) => ({ ...r, parallel: e.target.value }))}
                  />
                  {fieldError('parallel')}
                </label>
                <label className="field">
                  <span>Order</span>
                  <select
                    data-testid="backfill-order"
                    value={range.order}
                    onChange={(e) => setRange((r) => ({ ...r, order: e.target.value as 'asc' | 'desc' }))}
                  >
                    <option value="asc">oldest first</option>
                    <option value="desc">newest first</option>
                  </select>
                </label>
              </div>
              <small className="muted" data-testid="backfill-count">
                {backfillSummary(plan.data, range.start && range.end && !rangeBackwards && !plan.isError)}
              </small>
            </div>
          )}
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
            {fieldError('params')}
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
            {fieldError('disable')}
          </fieldset>
          <ErrorBox error={submitError} testId="run-dialog-error" />
        </form>
      )}
    </Dialog>
  );
}

function backfillLabel(count: number | undefined, failed: boolean): string {
  if (count == null || failed) return 'Start backfill';
  return `Start ${count} run${count === 1 ? '' : 's'}`;
}

/** What the range makes: `3 runs: 2026-01-01 00:00 … 2026-01-03 00:00`. */
function backfillSummary(plan: { count: number; dates: string[] } | undefined, ready: boolean | string): string {
  if (!ready) return "Pick the first and last logical dates: a run for each of the schedule's fire times between them (each day without a schedule).";
  if (!plan) return 'Counting the runs…';
  const first = formatLogicalDate(plan.dates[0]);
  const last = formatLogicalDate(plan.dates[plan.dates.length - 1]);
  return `${plan.count} run${plan.count === 1 ? '' : 's'}: ${first}${plan.count > 1 ? ` … ${last}` : ''}`;
}
