import { useRef, useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { applyWorkflow } from '../api/calls';
import type { AppliedWorkflow } from '../api/types';
import { ErrorBox } from '../components/ErrorBox';

/** Import a YAML or JSON workflow file: POST its text, then say what was stored. */
export function ImportButton({ project }: { project: string | null }) {
  const input = useRef<HTMLInputElement>(null);
  const queryClient = useQueryClient();
  const [result, setResult] = useState<AppliedWorkflow[] | null>(null);
  const apply = useMutation({
    mutationFn: async (file: File) => {
      const text = await file.text();
      const format = /\.json$/i.test(file.name) ? 'json' : 'yaml';
      return applyWorkflow(text, format, project);
    },
    onSuccess: (applied) => {
      setResult(applied);
      void queryClient.invalidateQueries({ queryKey: ['workflows'] });
      void queryClient.invalidateQueries({ queryKey: ['schedules'] });
    },
    onError: () => setResult(null),
  });

  return (
    <div className="import">
      <button className="btn" data-testid="workflows-import" onClick={() => input.current?.click()} disabled={apply.isPending}>
        {apply.isPending ? 'Importing…' : 'Import file'}
      </button>
      <input
        ref={input}
        type="file"
        hidden
        accept=".yaml,.yml,.json,application/json,application/yaml,text/yaml"
        data-testid="workflows-import-file"
        onChange={(e) => {
          const f = e.target.files?.[0];
          e.target.value = '';
          if (f) apply.mutate(f);
        }}
      />
      {result && (
        <div className="notice" data-testid="import-result">
          {result.map((w) => (
            <div key={`${w.project}/${w.name}`}>
              {w.project}/{w.name}: {w.changed ? `version ${w.version} stored` : `unchanged (version ${w.version})`}
              {w.notes.map((n, i) => (
                <div key={i} className="muted">
                  {n}
                </div>
              ))}
            </div>
          ))}
          <button className="link" onClick={() => setResult(null)} aria-label="dismiss">
            ×
          </button>
        </div>
      )}
      {apply.error && (
        <div className="import-error">
          <ErrorBox error={apply.error} testId="import-error" onClose={() => apply.reset()} />
        </div>
      )}
    </div>
  );
}
