import { useEffect, useMemo, useRef, useState } from 'react';
import { getTaskLog, logFollowPath } from '../api/calls';
import { ErrorBox } from '../components/ErrorBox';
import { filterLog, splitByMatches, splitLines } from '../lib/logSearch';
import { StreamHandle, streamEvents } from '../lib/sse';

const MAX_SHOWN = 20000;

/**
 * A task run's log: the whole text of one attempt, or, while the task runs, its lines as they
 * come (the follow stream). The search box keeps the lines that match and marks the matches.
 */
export function TaskLog({
  project,
  runId,
  task,
  attempt,
  follow,
  hasLog,
}: {
  project: string;
  runId: number;
  task: string;
  attempt: number | null;
  follow: boolean;
  hasLog: boolean;
}) {
  const [lines, setLines] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [streaming, setStreaming] = useState(false);
  const [query, setQuery] = useState('');
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);

  // The follow stream, once opened, runs until the task's log ends (the server sends `end`):
  // it is closed early only when the panel goes away or another attempt is chosen.
  const stream = useRef<StreamHandle | null>(null);
  const followRef = useRef(follow);
  followRef.current = follow;
  useEffect(
    () => () => {
      stream.current?.close(!followRef.current);
      stream.current = null;
    },
    [],
  );

  useEffect(() => {
    // Following the latest attempt, or followed it to its end and the task has not run again.
    if (attempt == null && stream.current && (stream.current.open || !follow)) return;
    if (attempt == null && follow) {
      const s = new StreamHandle();
      const ctl = s.ctl;
      stream.current = s;
      setLines([]);
      setError(null);
      setStreaming(true);
      streamEvents(
        logFollowPath(project, runId, task),
        (ev) => {
          if (s.detached) return;
          if (ev.event === 'line') {
            const d = JSON.parse(ev.data) as { attempt: number; text: string };
            setLines((ls) => [...ls, d.text]);
          } else if (ev.event === 'attempt') {
            const d = JSON.parse(ev.data) as { attempt: number };
            setLines((ls) => (ls.length ? [...ls, `──────── attempt ${d.attempt} ────────`] : ls));
          } else if (ev.event === 'undriven') {
            setLines((ls) => [...ls, '(no scheduler is driving this run right now)']);
          }
        },
        ctl.signal,
      )
        .catch((e) => !ctl.signal.aborted && !s.detached && setError(e))
        .finally(() => {
          s.open = false;
          if (!ctl.signal.aborted && !s.detached) setStreaming(false);
        });
      return;
    }
    // A chosen attempt, or a task that has ended: read the whole log of it.
    if (stream.current) {
      stream.current.close(!follow);
      stream.current = null;
      setStreaming(false);
    }
    setError(null);
    if (!hasLog) {
      setLines([]);
      return;
    }
    let live = true;
    getTaskLog(project, runId, task, attempt ?? undefined)
      .then((text) => live && setLines(splitLines(text)))
      .catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [project, runId, task, attempt, follow, hasLog]);

  const shown = useMemo(() => filterLog(lines, query.trim()), [lines, query]);
  const clipped = shown.length > MAX_SHOWN ? shown.slice(shown.length - MAX_SHOWN) : shown;

  // Keep the newest line in view while following, unless the reader scrolled up.
  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [clipped.length]);

  return (
    <div className="log">
      <div className="log-bar">
        <input
          type="search"
          className="search"
          placeholder="Search the log"
          data-testid="log-search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <span className="muted small" data-testid="log-count">
          {query.trim() ? `${shown.length} of ${lines.length} lines match` : `${lines.length} lines`}
          {streaming && <span className="live-dot" title="following the log"> ● live</span>}
        </span>
      </div>
      <ErrorBox error={error} testId="log-error" />
      <div
        className="log-text"
        data-testid="task-log"
        ref={box}
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {!hasLog && !follow && <div className="muted">No log: this task run has not started.</div>}
        {shown.length > MAX_SHOWN && <div className="muted">… {shown.length - MAX_SHOWN} earlier lines not shown</div>}
        {clipped.map((l) => (
          <div className="log-line" key={l.number} data-line={l.number}>
            <span className="log-no">{l.number}</span>
            <span className="log-t">
              {l.matches.length === 0
                ? l.text
                : splitByMatches(l.text, l.matches).map((p, i) => (p.hit ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}
            </span>
          </div>
        ))}
        {hasLog && lines.length > 0 && query.trim() && shown.length === 0 && <div className="muted">No line matches.</div>}
      </div>
    </div>
  );
}
