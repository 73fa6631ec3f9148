/**
 * A minimal server-sent-events parser for streams read with `fetch`
 * (EventSource cannot send an Authorization header). Feed it decoded text
 * as it arrives; it returns every event completed so far, with its type
 * (`event:`, default `message`) and data. Comment lines (`:`) and other
 * fields are ignored; several `data:` lines of one event are joined with
 * `\n`, as the spec says.
 */
export interface SseEvent {
  event: string;
  data: string;
}

export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';

  push(text: string): SseEvent[] {
    this.buffer += text;
    const events: SseEvent[] = [];
    let newline: number;
    while ((newline = this.nextLineEnd()) >= 0) {
      let line = this.buffer.slice(0, newline);
      // A CRLF pair counts as one line end.
      const skip = this.buffer[newline] === '\r' && this.buffer[newline + 1] === '\n' ? 2 : 1;
      this.buffer = this.buffer.slice(newline + skip);
      if (line === '') {
        if (this.data.length > 0) events.push({ event: this.event || 'message', data: this.data.join('\n') });
        this.data = [];
        this.event = '';
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      line = colon < 0 ? '' : line.slice(colon + 1);
      if (line.startsWith(' ')) line = line.slice(1);
      if (field === 'data') this.data.push(line);
      else if (field === 'event') this.event = line;
    }
    return events;
  }

  private nextLineEnd(): number {
    const n = this.buffer.indexOf('\n');
    const r = this.buffer.indexOf('\r');
    if (r >= 0 && (n < 0 || r < n)) {
      // A lone CR at the very end may be the first half of CRLF: wait.
      return r === this.buffer.length - 1 ? -1 : r;
    }
    return n;
  }
}
