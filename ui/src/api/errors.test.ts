import { describe, expect, it } from 'vitest';
import { ApiError, describeProblems, errorMessage, toApiError } from './errors';

describe('toApiError', () => {
  it('reads the API error body', () => {
    const e = toApiError(409, { error: { code: 'conflict', message: 'run 2 already ended (success); nothing to stop', details: {} } });
    expect(e).toBeInstanceOf(ApiError);
    expect([e.status, e.code, e.message]).toEqual([409, 'conflict', 'run 2 already ended (success); nothing to stop']);
  });

  it('falls back to the status for a body it does not know', () => {
    expect(toApiError(502, null, 'Bad Gateway').message).toBe('the server answered 502 Bad Gateway');
    expect(toApiError(422, { detail: 'nope' }).message).toBe('nope');
  });
});

describe('describeProblems', () => {
  it('says where each problem is and what it is', () => {
    const lines = describeProblems({
      problems: [
        { file: '<request>', line: 2, task: 'a', field: 'type', message: "unknown task type 'nope'" },
        { file: 'wf.yaml', line: 5, task: 'b', field: 'upstream', message: 'no task c' },
        { field: 'workflow', message: 'Field required' },
      ],
    });
    expect(lines).toEqual([
      "line 2, task a, field type: unknown task type 'nope'",
      'wf.yaml, line 5, task b, field upstream: no task c',
      'field workflow: Field required',
    ]);
  });

  it('is empty without problems', () => {
    expect(describeProblems({})).toEqual([]);
  });
});

describe('errorMessage', () => {
  it('explains a network failure in plain words', () => {
    expect(errorMessage(new TypeError('Failed to fetch'))).toMatch(/cannot reach the shoal server/);
  });
});
