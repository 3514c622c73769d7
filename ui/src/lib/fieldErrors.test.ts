import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/errors';
import { fieldErrors, isFieldError } from './fieldErrors';

describe('fieldErrors', () => {
  it('maps each problem to its field', () => {
    const err = new ApiError(422, 'invalid_input', "cron: invalid cron expression '61 * * * *'", {
      field: 'cron',
      problems: [
        { field: 'cron', message: "invalid cron expression '61 * * * *'" },
        { field: 'timezone', message: "unknown timezone 'Mars'" },
      ],
    });
    expect(fieldErrors(err)).toEqual({ cron: "invalid cron expression '61 * * * *'", timezone: "unknown timezone 'Mars'" });
    expect(isFieldError(err, ['cron', 'timezone'])).toBe(true);
    expect(isFieldError(err, ['cron'])).toBe(false);
  });

  it('takes details.field with the message when there is no problem list', () => {
    const err = new ApiError(422, 'invalid_input', 'end 2026-01-01 is before start 2026-01-03: the range is empty', {
      field: 'end',
    });
    expect(fieldErrors(err)).toEqual({ end: 'end 2026-01-01 is before start 2026-01-03: the range is empty' });
  });

  it('names nothing for other errors', () => {
    expect(fieldErrors(new Error('boom'))).toEqual({});
    expect(fieldErrors(new ApiError(404, 'not_found', 'no such workflow'))).toEqual({});
    expect(isFieldError(new ApiError(404, 'not_found', 'x'), ['cron'])).toBe(false);
  });
});
