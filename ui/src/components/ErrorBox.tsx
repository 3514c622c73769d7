import { ApiError, describeProblems, errorMessage } from '../api/errors';

/** An API error in plain words: its message, then each problem the server listed. */
export function ErrorBox({ error, testId, onClose }: { error: unknown; testId?: string; onClose?: () => void }) {
  if (!error) return null;
  const problems = error instanceof ApiError ? describeProblems(error.details) : [];
  return (
    <div className="error" role="alert" data-testid={testId ?? 'error'}>
      <div className="error-msg">
        <span>{errorMessage(error)}</span>
        {onClose && (
          <button className="link" onClick={onClose} aria-label="dismiss">
            ×
          </button>
        )}
      </div>
      {/* the message already states the first problem: list them only when there are more */}
      {problems.length > 1 && (
        <ul>
          {problems.map((p, i) => (
            <li key={i}>{p}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
