import { describe, expect, it } from 'vitest';
import { SseParser } from './sse';

const msg = (data: string, event = 'message') => ({ event, data });

describe('SseParser', () => {
  it('returns each event once complete, across chunk boundaries', () => {
    const p = new SseParser();
    expect(p.push('event: JobEvent\ndata: {"job":')).toEqual([]);
    expect(p.push('{"state":"JOB_STATE_RUNNING"}}\n')).toEqual([]);
    expect(p.push('\ndata: {"job":{}}\n\n')).toEqual([msg('{"job":{"state":"JOB_STATE_RUNNING"}}', 'JobEvent'), msg('{"job":{}}')]);
  });

  it('joins multi-line data, skips comments and other fields, accepts CRLF', () => {
    const p = new SseParser();
    expect(p.push(': keep-alive\r\nevent: error\r\nid: 3\r\ndata: a\r\ndata:b\r\n\r\n')).toEqual([msg('a\nb', 'error')]);
  });

  it('waits for the LF of a CRLF split across chunks', () => {
    const p = new SseParser();
    expect(p.push('data: x\r')).toEqual([]);
    expect(p.push('\n\r\n')).toEqual([msg('x')]);
  });

  it('ignores blank lines without data', () => {
    expect(new SseParser().push('\n\n: ping\n\n')).toEqual([]);
  });
});
