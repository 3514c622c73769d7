import { useMemo } from 'react';
import { tokenizeSql, type SqlTokenKind } from '../lib/sqlHighlight';

const CLASS: Partial<Record<SqlTokenKind, string>> = { keyword: 'k', function: 'f', string: 's', number: 'n', comment: 'c' };

/** SQL text with keywords, functions, strings, numbers and comments coloured. */
export function SqlView({ sql, testId }: { sql: string; testId?: string }) {
  const tokens = useMemo(() => tokenizeSql(sql), [sql]);
  return (
    <pre className="sql" data-testid={testId}>
      {tokens.map((t, i) => {
        const cls = CLASS[t.kind];
        return cls ? (
          <span key={i} className={cls}>
            {t.text}
          </span>
        ) : (
          t.text
        );
      })}
    </pre>
  );
}
