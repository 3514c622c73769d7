import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { runEventsPath } from '../api/calls';
import type { Run, TaskRun } from '../api/types';
import { streamEvents } from '../lib/sse';

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

  useEffect(() => {
    if (!active) {
      setStatus('idle');
      return;
    }
    const ctl = new AbortController();
    const key = ['run', project, id];
    let retry: number | undefined;

    const connect = () => {
      setStatus('live');
      streamEvents(
        runEventsPath(project, id),
        (ev) => {
          let data: unknown = null;
          try {
            data = ev.data ? JSON.parse(ev.data) : null;
          } catch {
            return;
          }
          if (ev.event === 'end') {
            setStatus('ended');
            void queryClient.invalidateQueries({ queryKey: key });
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
          // The server closed the stream (run ended, or a restart): read the run once more.
          if (ctl.signal.aborted) return;
          void queryClient.invalidateQueries({ queryKey: key });
        })
        .catch(() => {
          if (ctl.signal.aborted) return;
          setStatus('reconnecting');
          retry = window.setTimeout(connect, 3000);
        });
    };
    connect();
    return () => {
      window.clearTimeout(retry);
      ctl.abort();
    };
  }, [project, id, active, queryClient]);

  return status;
}
