import { ApiError } from '../api/errors';

/**
 * The server's message for each field an invalid_input / spec_error names (`details.problems`,
 * else `details.field` with the error's message), so a form can show each next to its field.
 * A problem's message is shown without its `field: ` prefix (the field is where it stands).
 */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  const out: Record<string, string> = {};
  const problems = error.details.problems;
  if (Array.isArray(problems)) {
    for (const p of problems) {
      if (p && typeof p === 'object' && typeof p.field === 'string' && typeof p.message === 'string') {
        out[p.field] ??= p.message;
      }
    }
  }
  const field = error.details.field;
  if (typeof field === 'string' && !(field in out)) out[field] = error.message.replace(new RegExp(`^${field}: `), '');
  return out;
}

/** True when `error` names one of `fields` (so it is shown there and needs no box of its own). */
export function isFieldError(error: unknown, fields: readonly string[]): boolean {
  const named = fieldErrors(error);
  return Object.keys(named).length > 0 && Object.keys(named).every((f) => fields.includes(f));
}
