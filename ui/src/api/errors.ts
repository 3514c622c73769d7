/** An API error as the server reports it: `{"error": {"code", "message", "details"}}`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

interface Problem {
  file?: string | null;
  line?: number | null;
  task?: string | null;
  field?: string | null;
  loc?: unknown[];
  message?: string;
  msg?: string;
}

/** Build an ApiError from a response status and its (parsed or not) body. */
export function toApiError(status: number, body: unknown, statusText = ''): ApiError {
  const err = (body as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
  if (err && typeof err === 'object') {
    return new ApiError(status, err.code ?? 'error', err.message ?? statusText, (err.details as Record<string, unknown>) ?? {});
  }
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === 'string') return new ApiError(status, 'error', detail);
  return new ApiError(status, 'error', `the server answered ${status}${statusText ? ` ${statusText}` : ''}`);
}

/** One line per problem of a spec_error / invalid_input, in plain words. */
export function describeProblems(details: Record<string, unknown>): string[] {
  const problems = details.problems;
  if (!Array.isArray(problems)) return [];
  return problems.map((p: Problem | string) => {
    if (typeof p === 'string') return p;
    const where = [
      p.file && p.file !== '<request>' ? p.file : null,
      p.line != null ? `line ${p.line}` : null,
      p.task ? `task ${p.task}` : null,
      p.field ? `field ${p.field}` : Array.isArray(p.loc) ? p.loc.join('.') : null,
    ]
      .filter(Boolean)
      .join(', ');
    const what = p.message ?? p.msg ?? JSON.stringify(p);
    return where ? `${where}: ${what}` : what;
  });
}

/** A short sentence for any error thrown while talking to the API. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return 'cannot reach the shoal server: is it running?';
  if (error instanceof Error) return error.message;
  return String(error);
}
