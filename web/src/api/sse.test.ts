import { describe, expect, it } from 'vitest';
import { SseParser } from './sse';

describe('SseParser', () => {
  it('returns each event once complete, across chunk boundaries', () => {
    const p = new SseParser();
    expect(p.push('data: {"job":')).toEqual([]);
    expect(p.push('{"state":"JOB_STATE_RUNNING"}}\n')).toEqual([]);
    expect(p.push('\ndata: {"job":{}}\n\n')).toEqual(['{"job":{"state":"JOB_STATE_RUNNING"}}', '{"job":{}}']);
  });

  it('joins multi-line data, skips comments and other fields, accepts CRLF', () => {
    const p = new SseParser();
    expect(p.push(': keep-alive\r\nevent: job\r\nid: 3\r\ndata: a\r\ndata:b\r\n\r\n')).toEqual(['a\nb']);
  });

  it('waits for the LF of a CRLF split across chunks', () => {
    const p = new SseParser();
    expect(p.push('data: x\r')).toEqual([]);
    expect(p.push('\n\r\n')).toEqual(['x']);
  });

  it('ignores blank lines without data', () => {
    expect(new SseParser().push('\n\n: ping\n\n')).toEqual([]);
  });
});
