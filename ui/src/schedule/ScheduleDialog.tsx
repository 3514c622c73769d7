import { useMemo, useState, type FormEvent } from 'react';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { previewSchedule, putSchedule, removeSchedule } from '../api/calls';
import type { Schedule } from '../api/types';
import { Dialog } from '../components/Dialog';
import { ErrorBox } from '../components/ErrorBox';
import { fieldErrors, isFieldError } from '../lib/fieldErrors';
import { useDebounced, useDelayedFlag } from '../lib/hooks';
import {
  cronToPreset,
  describeCron,
  parseTime,
  presetToCron,
  switchPreset,
  timeText,
  WEEKDAYS,
  type Preset,
  type PresetKind,
} from './cron';

const KINDS: { kind: PresetKind; label: string }[] = [
  { kind: 'hourly', label: 'Every hour' },
  { kind: 'daily', label: 'Every day' },
  { kind: 'weekly', label: 'Every week' },
  { kind: 'monthly', label: 'Every month' },
  { kind: 'custom', label: 'Custom cron expression' },
];
const FIELDS = ['cron', 'timezone', 'start', 'end', 'catchup'] as const;
const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** Every IANA zone the browser knows, UTC first. */
function timeZones(): string[] {
  const known = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return ['UTC', ...known.filter((z) => z !== 'UTC')];
}

/** `2026-01-02 02:30` of an ISO datetime with its offset, read as written (the schedule's zone). */
function wallClock(iso: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

/** The same instant on the browser's clock, with its weekday. */
function browserClock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  const day = WEEKDAYS[d.getDay()];
  return `${day} ${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function weekdayOf(iso: string): string {
  const m = /^(\d{4})-(\d\d)-(\d\d)/.exec(iso);
  if (!m) return '';
  // The calendar day as written (in the schedule's zone): its weekday, whatever the browser's zone.
  return WEEKDAYS[new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).getUTCDay()];
}

/**
 * Set, change or remove a workflow's schedule: a cron builder (presets or a custom expression),
 * its description in words, the next fire times from the server (in the schedule's zone and the
 * browser's), timezone, start and end, catch-up. Saving stores a new version of the workflow.
 * Self-contained: it refreshes the workflow's queries itself; `onClose(changed)` says whether
 * a new version was stored.
 */
export function ScheduleDialog({
  project,
  workflow,
  schedule,
  onClose,
}: {
  project: string;
  workflow: string;
  schedule: Schedule | null;
  onClose: (changed: boolean) => void;
}) {
  const queryClient = useQueryClient();
  const [expression, setExpression] = useState(schedule?.cron ?? '0 2 * * *');
  // Chosen "custom" while the expression is also a preset's: keep showing the custom field.
  const [customChosen, setCustomChosen] = useState(false);
  const [timezone, setTimezone] = useState(schedule?.timezone ?? (schedule ? 'UTC' : BROWSER_ZONE));
  const [start, setStart] = useState(schedule?.start ?? '');
  const [end, setEnd] = useState(schedule?.end ?? '');
  const [catchup, setCatchup] = useState(schedule?.catchup ?? false);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const zones = useMemo(timeZones, []);

  const parsed = cronToPreset(expression);
  const preset: Preset = customChosen ? { kind: 'custom', expression } : parsed;
  const setPreset = (p: Preset) => setExpression(presetToCron(p));
  const description = describeCron(expression);

  const wanted: Schedule = { cron: expression.trim(), timezone: timezone.trim(), start, end, catchup };
  // Text, not the object: a new object each render would restart the debounce forever.
  const debouncedText = useDebounced(JSON.stringify(wanted), 300);
  const debounced = useMemo(() => JSON.parse(debouncedText) as Schedule, [debouncedText]);
  const preview = useQuery({
    queryKey: ['schedule-preview', debounced],
    queryFn: () => previewSchedule(debounced, 5),
    enabled: debounced.cron !== '' && debounced.timezone !== '',
    retry: false,
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
  const slow = useDelayedFlag(preview.isFetching);

  const done = (changed: boolean) => {
    if (changed) {
      void queryClient.invalidateQueries({ queryKey: ['workflow', project, workflow] });
      void queryClient.invalidateQueries({ queryKey: ['workflows'] });
      void queryClient.invalidateQueries({ queryKey: ['schedules'] });
    }
    onClose(changed);
  };
  const save = useMutation({ mutationFn: () => putSchedule(project, workflow, wanted), onSuccess: (a) => done(a.changed) });
  const remove = useMutation({ mutationFn: () => removeSchedule(project, workflow), onSuccess: (a) => done(a.changed) });

  // The preview's problems stand on their fields; a refused save's too, else in the box below.
  const previewErrors = preview.isError && !preview.isFetching ? fieldErrors(preview.error) : {};
  const errors = { ...previewErrors, ...fieldErrors(save.error) };
  const boxError = save.error && !isFieldError(save.error, FIELDS) ? save.error : remove.error;
  const previewOther = preview.isError && !isFieldError(preview.error, FIELDS) ? preview.error : null;
  const fieldError = (f: string) =>
    errors[f] ? (
      <small className="field-error" data-testid={`schedule-${f}-error`} role="alert">
        {errors[f]}
      </small>
    ) : null;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  const time = 'hour' in preset ? timeText(preset.hour, preset.minute) : '';
  const setTime = (text: string) => {
    const t = parseTime(text);
    if (t && preset.kind !== 'custom' && preset.kind !== 'hourly') setPreset({ ...preset, ...t });
  };
  const data = preview.data;

  return (
    <Dialog
      title={
        <>
          Schedule of <span className="mono">{project}/{workflow}</span>
        </>
      }
      onClose={() => onClose(false)}
      testId="schedule-dialog"
      footer={
        <>
          {schedule && !confirmRemove && (
            <button className="btn danger" type="button" data-testid="schedule-remove" onClick={() => setConfirmRemove(true)}>
              Remove schedule
            </button>
          )}
          {confirmRemove && (
            <span className="confirm-inline">
              No more scheduled runs?
              <button
                className="btn danger solid"
                type="button"
                data-testid="schedule-remove-confirm"
                disabled={remove.isPending}
                onClick={() => remove.mutate()}
              >
                {remove.isPending ? 'Removing…' : 'Remove'}
              </button>
              <button className="btn" type="button" onClick={() => setConfirmRemove(false)}>
                Keep
              </button>
            </span>
          )}
          <div className="spacer" />
          <button className="btn" type="button" data-testid="schedule-cancel" onClick={() => onClose(false)}>
            Not now
          </button>
          <button
            className="btn primary"
            type="submit"
            form="schedule-form"
            data-testid="schedule-save"
            disabled={save.isPending || expression.trim() === ''}
          >
            {save.isPending ? 'Saving…' : 'Save schedule'}
          </button>
        </>
      }
    >
      <form id="schedule-form" className="form schedule-form" onSubmit={submit}>
        <div className="field">
          <span>Repeat</span>
          <div className="cron-builder">
            <select
              data-testid="cron-preset"
              aria-label="repeat"
              value={preset.kind}
              onChange={(e) => {
                const kind = e.target.value as PresetKind;
                setCustomChosen(kind === 'custom');
                if (kind !== 'custom') setPreset(switchPreset(parsed.kind === 'custom' ? preset : parsed, kind, expression));
              }}
            >
              {KINDS.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.label}
                </option>
              ))}
            </select>
            {preset.kind === 'hourly' && (
              <label className="inline">
                at minute
                <input
                  type="number"
                  min={0}
                  max={59}
                  className="num-input"
                  data-testid="cron-minute"
                  value={preset.minute}
                  onChange={(e) => {
                    const m = Number(e.target.value);
                    if (Number.isInteger(m) && m >= 0 && m < 60) setPreset({ kind: 'hourly', minute: m });
                  }}
                />
              </label>
            )}
            {preset.kind === 'monthly' && (
              <label className="inline">
                on day
                <input
                  type="number"
                  min={1}
                  max={31}
                  className="num-input"
                  data-testid="cron-day-of-month"
                  value={preset.day}
                  onChange={(e) => {
                    const d = Number(e.target.value);
                    if (Number.isInteger(d) && d >= 1 && d <= 31) setPreset({ ...preset, day: d });
                  }}
                />
              </label>
            )}
            {(preset.kind === 'daily' || preset.kind === 'weekly' || preset.kind === 'monthly') && (
              <label className="inline">
                at
                <input type="time" data-testid="cron-time" value={time} onChange={(e) => setTime(e.target.value)} required />
              </label>
            )}
          </div>
          {preset.kind === 'weekly' && (
            <div className="weekdays" role="group" aria-label="weekdays">
              {WEEKDAYS.map((name, day) => (
                <label key={name} className="check">
                  <input
                    type="checkbox"
                    data-testid={`cron-weekday-${day}`}
                    checked={preset.days.includes(day)}
                    onChange={(e) => {
                      const days = e.target.checked ? [...preset.days, day] : preset.days.filter((d) => d !== day);
                      if (days.length) setPreset({ ...preset, days });
                    }}
                  />
                  {name}
                </label>
              ))}
            </div>
          )}
        </div>
        <label className="field">
          <span>Cron expression</span>
          <input
            className="mono"
            data-testid="cron-expression"
            value={expression}
            aria-invalid={!!errors.cron}
            onChange={(e) => setExpression(e.target.value)}
            placeholder="minute hour day-of-month month day-of-week, e.g. 30 2 * * *"
            spellCheck={false}
          />
          {fieldError('cron')}
          <small className="muted" data-testid="cron-description">
            {description ?? (expression.trim() ? 'Not an expression these words can describe.' : 'Type an expression.')}
          </small>
        </label>
        <label className="field">
          <span>Time zone</span>
          <input
            data-testid="schedule-timezone"
            list="schedule-timezones"
            value={timezone}
            aria-invalid={!!errors.timezone}
            onChange={(e) => setTimezone(e.target.value)}
            placeholder="type to search, e.g. Asia/Shanghai"
            spellCheck={false}
          />
          <datalist id="schedule-timezones">
            {zones.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
          {fieldError('timezone')}
          <small className="muted">The cron is read on this zone's clock (daylight saving included).</small>
        </label>
        <div className="field-pair">
          <label className="field">
            <span>Start (optional)</span>
            <input
              type="date"
              data-testid="schedule-start"
              value={start.slice(0, 10)}
              aria-invalid={!!errors.start}
              onChange={(e) => setStart(e.target.value)}
            />
            {fieldError('start')}
          </label>
          <label className="field">
            <span>End (optional, that whole day included)</span>
            <input
              type="date"
              data-testid="schedule-end"
              value={end.slice(0, 10)}
              aria-invalid={!!errors.end}
              onChange={(e) => setEnd(e.target.value)}
            />
            {fieldError('end')}
          </label>
        </div>
        <label className="check">
          <input
            type="checkbox"
            data-testid="schedule-catchup"
            checked={catchup}
            onChange={(e) => setCatchup(e.target.checked)}
          />
          <span>
            Catch up — <span className="muted">also run, at once, the fire times missed since the start or while paused.</span>
          </span>
        </label>
        <div className="field">
          <span>
            Next fire times {slow && <span className="muted small">(updating…)</span>}
          </span>
          <div data-testid="fire-times" aria-live="polite">
            {data && !preview.isError && data.fire_times.length === 0 && (
              <p className="muted">It never fires again: its end has passed.</p>
            )}
            {data && !preview.isError && data.fire_times.length > 0 && (
              <table className="table fire-times">
                <thead>
                  <tr>
                    <th>{data.timezone}</th>
                    <th>your time ({BROWSER_ZONE})</th>
                  </tr>
                </thead>
                <tbody>
                  {data.fire_times.map((t, i) => (
                    <tr key={t} className={i < data.catchup_runs ? 'past' : ''}>
                      <td className="mono">
                        {weekdayOf(data.local[i])} {wallClock(data.local[i])}
                      </td>
                      <td className="mono muted">{browserClock(t)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {data && !preview.isError && data.catchup_runs > 0 && (
              <p className="muted small">
                The first {Math.min(data.catchup_runs, data.fire_times.length)} are past: catching up runs{' '}
                {data.catchup_runs === 1 ? 'it' : `all ${data.catchup_runs}`} as soon as the schedule is saved.
              </p>
            )}
            {preview.isError && !previewOther && <p className="muted">Fix the fields marked above to see when it fires.</p>}
            <ErrorBox error={previewOther} />
          </div>
        </div>
        <ErrorBox error={boxError} testId="schedule-error" />
      </form>
    </Dialog>
  );
}
