import { describe, expect, it } from 'vitest';
import { isRetryable, until } from './format';

describe('until', () => {
  const now = Date.parse('2026-12-05T10:00:00Z');
  it('says how long until a time, as people say it', () => {
    expect(until('2026-12-05T10:00:35Z', now)).toBe('in 35 s');
    expect(until('2026-12-05T10:02:10Z', now)).toBe('in 2 min');
    expect(until('2026-12-05T11:05:00Z', now)).toBe('in 1 h 5 min');
  });
  it('says now for a time passed, and a dash for none', () => {
    expect(until('2026-12-05T09:59:00Z', now)).toBe('now');
    expect(until(undefined, now)).toBe('–');
    expect(until('not a time', now)).toBe('–');
  });
});

describe('isRetryable', () => {
  it('is a failed or cancelled job whose upload completed', () => {
    expect(isRetryable({ state: 'JOB_STATE_CANCELLED', totalChunks: 3 })).toBe(true);
    expect(isRetryable({ state: 'JOB_STATE_FAILED', totalChunks: 1 })).toBe(true);
    expect(isRetryable({ state: 'JOB_STATE_FAILED', totalChunks: 0 })).toBe(false);
    expect(isRetryable({ state: 'JOB_STATE_COMPLETED', totalChunks: 3 })).toBe(false);
  });
});
