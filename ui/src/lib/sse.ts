import { rawFetch } from '../api/client';

export interface SSEEvent {
  event: string;
  data: string;
  id?: string;
}

/**
 * An incremental parser of `text/event-stream` (the WHATWG rules that matter here): feed it
 * chunks as they arrive, in any split, and it returns the events each chunk completes.
 * Comment lines (`: keep-alive`) are ignored; several `data:` lines join with "\n".
 */
export class SSEParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;

  push(chunk: string): SSEEvent[] {
    this.buffer += chunk;
    const out: SSEEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A lone "\r" at the very end may be the first half of "\r\n": wait for the next chunk.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    return out;
  }

  /** Dispatch what is pending when the stream closes without a final blank line. */
  flush(): SSEEvent[] {
    const out: SSEEvent[] = [];
    if (this.buffer) {
      const ev = this.line(this.buffer);
      this.buffer = '';
      if (ev) out.push(ev);
    }
    const ev = this.line('');
    if (ev) out.push(ev);
    return out;
  }

  private line(line: string): SSEEvent | null {
    if (line === '') {
      if (this.data.length === 0 && !this.event) return null;
      const ev: SSEEvent = { event: this.event || 'message', data: this.data.join('\n') };
      if (this.id !== undefined) ev.id = this.id;
      this.event = '';
      this.data = [];
      return ev;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id') this.id = value;
    return null;
  }
}

/**
 * Read an event stream with fetch (so the Authorization header goes along; EventSource cannot
 * send one). Resolves when the stream ends; an abort through `signal` resolves quietly.
 */
export async function streamEvents(
  path: string,
  onEvent: (ev: SSEEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  let response: Response;
  try {
    response = await rawFetch(path, { signal, headers: { Accept: 'text/event-stream' } });
  } catch (e) {
    if (signal.aborted) return;
    throw e;
  }
  if (!response.body) return;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const parser = new SSEParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const ev of parser.push(decoder.decode(value, { stream: true }))) onEvent(ev);
    }
    for (const ev of parser.push(decoder.decode())) onEvent(ev);
    for (const ev of parser.flush()) onEvent(ev);
  } catch (e) {
    if (signal.aborted) return;
    throw e;
  } finally {
    reader.releaseLock();
  }
}

/**
 * An event stream the page may leave. `close()` cuts a stream that still has a long way to go;
 * one whose subject has ended (`drain`) is left to read its last events to the server's own
 * close, unseen, for up to `graceMs`: so leaving a finished run aborts no request.
 */
export class StreamHandle {
  readonly ctl = new AbortController();
  open = true;
  detached = false;

  get signal(): AbortSignal {
    return this.ctl.signal;
  }

  close(drain: boolean, graceMs = 5000): void {
    this.detached = true;
    if (!this.open) return;
    if (!drain) {
      this.ctl.abort();
      return;
    }
    window.setTimeout(() => this.open && this.ctl.abort(), graceMs);
  }
}
