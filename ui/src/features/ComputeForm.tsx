import { useState } from 'react';
import { useMutation } from '@tanstack/react-query';
import { computeFeatures } from '../api/calls';
import { ErrorBox } from '../components/ErrorBox';
import { parseRequestRows } from '../lib/requestRows';

function cell(v: unknown): string {
  if (v == null) return 'null';
  if (typeof v === 'number') return String(Number.isInteger(v) ? v : Number(v.toPrecision(6)));
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Compute the features of request rows (JSON) as the model server would, shown as a table. */
export function ComputeForm({
  project,
  name,
  version,
  sample,
}: {
  project: string;
  name: string;
  version: number | null;
  sample: Record<string, unknown>;
}) {
  const [text, setText] = useState(() => JSON.stringify(sample, null, 2));
  const [parseError, setParseError] = useState<Error | null>(null);
  const compute = useMutation({
    mutationFn: (rows: Record<string, unknown>[]) => computeFeatures(project, name, rows, version),
  });
  const submit = () => {
    compute.reset();
    try {
      const rows = parseRequestRows(text);
      setParseError(null);
      compute.mutate(rows);
    } catch (e) {
      setParseError(e as Error);
    }
  };
  const result = compute.data;
  const columns = result ? [...new Set(result.flatMap((r) => Object.keys(r)))] : [];

  return (
    <div className="compute">
      <p className="muted small">
        A request row (an object, or an array of up to 1,000) with the main table's columns. Nothing is stored; the
        windows read the online store.
      </p>
      <textarea
        data-testid="compute-row-input"
        value={text}
        spellCheck={false}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submit();
        }}
      />
      <div className="actions" style={{ margin: '6px 0' }}>
        <button className="btn primary" data-testid="compute-submit" onClick={submit} disabled={compute.isPending}>
          {compute.isPending ? 'Computing…' : 'Compute features'}
        </button>
        <span className="muted small">Ctrl+Enter</span>
      </div>
      <ErrorBox error={parseError ?? compute.error} testId="compute-error" />
      {result && (
        <div className="compute-result" data-testid="compute-result">
          {result.length === 1 ? (
            <table className="table compact">
              <thead>
                <tr>
                  <th>Feature</th>
                  <th className="num">Value</th>
                </tr>
              </thead>
              <tbody>
                {columns.map((c) => (
                  <tr key={c}>
                    <td className="mono">{c}</td>
                    <td className="num mono">{cell(result[0][c])}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <table className="table compact">
              <thead>
                <tr>
                  {columns.map((c) => (
                    <th key={c} className="mono">
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {result.map((r, i) => (
                  <tr key={i}>
                    {columns.map((c) => (
                      <td key={c} className="mono small">
                        {cell(r[c])}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </div>
  );
}
