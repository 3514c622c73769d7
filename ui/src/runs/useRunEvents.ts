import { useEffect, useRef, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { runEventsPath } from '../api/calls';
import type { Run, TaskRun } from '../api/types';
import { StreamHandle, streamEvents } from '../lib/sse';

export type StreamStatus = 'idle' | 'live' | 'reconnecting' | 'ended';

/** Fold one event of a run's stream into the cached run. */
export function applyRunEvent(run: Run | undefined, event: string, data: unknown): Run | undefined {
  if (event === 'run') return data as Run;
  if (event === 'task' && run) {
    const t = data as TaskRun;
    const known = run.tasks.some((x) => x.task === t.task);
    return { ...run, tasks: known ? run.tasks.map((x) => (x.task === t.task ? { ...x, ...t } : x)) : [...run.tasks, t] };
  }
  return run;
}

/**
 * Follow a run's server-sent events while it is active, writing each change into the query
 * cache (`['run', project, id]`), so every view of the run updates live.
 */
export function useRunEvents(project: string, id: number, active: boolean): StreamStatus {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<StreamStatus>('idle');
  const stream = useRef<{ handle: StreamHandle; retry?: number } | null>(null);
  const activeRef = useRef(active);
  activeRef.current = active;

  // Leaving the run (or another run) closes the stream; nothing else does.
  useEffect(
    () => () => {
      if (stream.current) {
        window.clearTimeout(stream.current.retry);
        stream.current.handle.close(!activeRef.current);
      }
      stream.current = null;
    },
    [project, id],
  );

  useEffect(() => {
    // A run that ends closes its own stream after its last events (`end`): it is not cut here,
    // so no request is aborted in normal use. A run that becomes active again opens a new one.
    if (!active || stream.current?.handle.open) return;
    const handle = new StreamHandle();
    const ctl = handle.ctl;
    const key = ['run', project, id];
    const s: { handle: StreamHandle; retry?: number } = { handle };
    stream.current = s;

    const connect = () => {
      setStatus('live');
      streamEvents(
        runEventsPath(project, id),
        (ev) => {
          if (handle.detached) return;
          let data: unknown = null;
          try {
            data = ev.data ? JSON.parse(ev.data) : null;
          } catch {
            return;
          }
          if (ev.event === 'end') {
            setStatus('ended');
            return;
          }
          queryClient.setQueryData<Run>(key, (old) => applyRunEvent(old, ev.event, data));
          if (ev.event === 'task') {
            const t = data as TaskRun;
            void queryClient.invalidateQueries({ queryKey: ['task', project, id, t.task] });
          }
        },
        ctl.signal,
      )
        .then(() => {
          handle.open = false;
          if (ctl.signal.aborted || handle.detached) return;
          setStatus('ended');
          // Read the run once more: the final word, and a new stream if it is active again.
          void queryClient.invalidateQueries({ queryKey: key });
        })
        .catch(() => {
          if (ctl.signal.aborted || handle.detached) {
            handle.open = false;
            return;
          }
          if (!activeRef.current) {
            handle.open = false;
            return;
          }
          setStatus('reconnecting');
          s.retry = window.setTimeout(connect, 3000);
        });
    };
    connect();
  }, [project, id, active, queryClient]);

  return active ? status : 'idle';
}
