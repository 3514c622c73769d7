import { describe, expect, it } from 'vitest';
import { SSEParser } from './sse';

describe('SSEParser', () => {
  it('parses named events with JSON data', () => {
    const p = new SSEParser();
    const evs = p.push('event: run\ndata: {"id": 1, "state": "running"}\n\nevent: end\ndata: {}\n\n');
    expect(evs).toEqual([
      { event: 'run', data: '{"id": 1, "state": "running"}' },
      { event: 'end', data: '{}' },
    ]);
    expect(JSON.parse(evs[0].data)).toEqual({ id: 1, state: 'running' });
  });

  it('completes events split across chunks at any point', () => {
    const text = 'event: line\ndata: {"attempt": 1, "text": "hello: world"}\n\nevent: end\ndata: {}\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SSEParser();
      const evs = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(evs.map((e) => e.event)).toEqual(['line', 'end']);
      expect(JSON.parse(evs[0].data).text).toBe('hello: world');
    }
  });

  it('ignores comment lines (keep-alives)', () => {
    const p = new SSEParser();
    expect(p.push(': keep-alive\n\n')).toEqual([]);
    expect(p.push(': ping\nevent: task\ndata: {}\n\n')).toEqual([{ event: 'task', data: '{}' }]);
  });

  it('joins several data lines and defaults the event name to message', () => {
    const p = new SSEParser();
    expect(p.push('data: a\ndata: b\n\n')).toEqual([{ event: 'message', data: 'a\nb' }]);
  });

  it('accepts CRLF and CR line ends, even split between chunks', () => {
    const p = new SSEParser();
    expect(p.push('event: x\r\ndata: 1\r')).toEqual([]);
    expect(p.push('\n\r\n')).toEqual([{ event: 'x', data: '1' }]);
    expect(p.push('data: 2\r\r')).toEqual([]); // the last CR may be half of a CRLF
    expect(p.push('data: 3')).toEqual([{ event: 'message', data: '2' }]);
  });

  it('keeps a value without a space after the colon, and the id field', () => {
    const p = new SSEParser();
    expect(p.push('id: 7\nevent:line\ndata:x\n\n')).toEqual([{ event: 'line', data: 'x', id: '7' }]);
  });

  it('flushes a last event that lacks its blank line', () => {
    const p = new SSEParser();
    expect(p.push('event: end\ndata: {}')).toEqual([]);
    expect(p.flush()).toEqual([{ event: 'end', data: '{}' }]);
  });
});
