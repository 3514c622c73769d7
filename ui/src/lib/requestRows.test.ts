import { describe, expect, it } from 'vitest';
import { parseRequestRows, sampleRow } from './requestRows';

describe('parseRequestRows', () => {
  it('takes an object or an array of objects', () => {
    expect(parseRequestRows('{"ip": 1}')).toEqual([{ ip: 1 }]);
    expect(parseRequestRows('[{"ip": 1}, {"ip": 2}]')).toHaveLength(2);
  });

  it('says what is wrong', () => {
    expect(() => parseRequestRows('{ip: 1}')).toThrow(/not JSON/);
    expect(() => parseRequestRows('[]')).toThrow(/at least one/);
    expect(() => parseRequestRows('[1, 2]')).toThrow(/JSON object/);
  });
});

describe('sampleRow', () => {
  it('fills each column by its type', () => {
    const now = new Date(Date.UTC(2026, 11, 7, 9, 5, 3));
    expect(sampleRow({ ip: 'BIGINT', t: 'TIMESTAMP', d: 'DATE', x: 'DOUBLE', s: 'STRING', b: 'BOOL' }, now)).toEqual({
      ip: 0,
      t: '2026-12-07 09:05:03',
      d: '2026-12-07',
      x: 0,
      s: '',
      b: false,
    });
  });
});
