import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../api/types';
import { cursorOf, cursorText, filterOf, filterProblems, filterQuery, FIRST_CURSOR, gather, matcherOf, matches, NO_FILTER, type Gathering } from './audit';

const at = (minute: number, action: string, actor = 'k1'): AuditEvent => ({
  time: new Date(2026, 11, 4, 15, minute).toISOString(),
  action,
  actorKeyId: actor,
  tenantId: 'lab',
  target: `t${minute}`,
});

const start: Gathering = { found: [], cursor: FIRST_CURSOR, searched: 0, done: false };

describe('audit filters', () => {
  it('round-trip through the address and ignore blanks', () => {
    const filter = { ...NO_FILTER, tenant: 'lab', action: 'RevokeApiKey', from: '2026-12-04T15:00' };
    const query = filterQuery(filter);
    expect(query).toBe('?tenant=lab&action=RevokeApiKey&from=2026-12-04T15%3A00');
    expect(filterOf(new URLSearchParams(query.slice(1)))).toEqual(filter);
    expect(filterQuery(NO_FILTER)).toBe('');
  });

  it('say which time is not a time, and a range that ends before it starts', () => {
    expect(filterProblems({ ...NO_FILTER, from: 'yesterday' })).toEqual({ from: 'Not a date and time (YYYY-MM-DDTHH:MM).' });
    expect(filterProblems({ ...NO_FILTER, from: '2026-12-04T16:00', to: '2026-12-04T15:00' })).toEqual({ to: 'Ends before it starts.' });
    expect(filterProblems({ ...NO_FILTER, from: '2026-12-04T15:00', to: '2026-12-04T16:00:30' })).toEqual({});
  });

  it('match actor exactly, action in any case, and time within the range', () => {
    const m = matcherOf({ ...NO_FILTER, actor: 'k1', action: 'revokeapikey', from: '2026-12-04T15:10', to: '2026-12-04T15:20' });
    if (!m) throw new Error('a matcher');
    expect(matches(at(15, 'RevokeApiKey'), m)).toBe(true);
    expect(matches(at(15, 'CreateApiKey'), m)).toBe(false);
    expect(matches(at(15, 'RevokeApiKey', 'k2'), m)).toBe(false);
    expect(matches(at(25, 'RevokeApiKey'), m)).toBe(false);
    expect(matches(at(5, 'RevokeApiKey'), m)).toBe(false);
    expect(matcherOf({ ...NO_FILTER, tenant: 'lab' })).toBeNull();
  });
});

describe('gathering a page of matching events from the server pages', () => {
  const m = matcherOf({ ...NO_FILTER, action: 'RevokeApiKey' });
  const page1 = { events: [at(30, 'RevokeApiKey'), at(29, 'CreateApiKey'), at(28, 'RevokeApiKey'), at(27, 'RevokeApiKey')], nextPageToken: '41' };
  const page2 = { events: [at(20, 'CreateApiKey'), at(19, 'RevokeApiKey')], nextPageToken: '' };

  it('stops inside a server page when full, and the next page starts after the last event taken', () => {
    const full = gather(start, FIRST_CURSOR, page1, 2, m);
    expect(full.done).toBe(true);
    expect(full.found.map((e) => e.target)).toEqual(['t30', 't28']);
    expect(full.cursor).toEqual({ token: '', skip: 3 });
    expect(full.searched).toBe(3);
    // The next page of the app reads the same server page from there, then the next one.
    const cursor = full.cursor ?? FIRST_CURSOR;
    const partial = gather({ ...start, cursor }, cursor, page1, 2, m);
    expect(partial).toEqual({ found: [page1.events[3]], cursor: { token: '41', skip: 0 }, searched: 1, done: false });
    const last = gather(partial, { token: '41', skip: 0 }, page2, 2, m);
    expect(last.found.map((e) => e.target)).toEqual(['t27', 't19']);
    expect(last.cursor).toBeNull();
    expect(last.done).toBe(true);
  });

  it('moves to the next server page when full on a server page’s last event', () => {
    const full = gather(start, FIRST_CURSOR, page1, 3, m);
    expect(full.cursor).toEqual({ token: '41', skip: 0 });
  });

  it('ends at the first event older than the range, newest first', () => {
    const since = matcherOf({ ...NO_FILTER, from: '2026-12-04T15:28' });
    const ended = gather(start, FIRST_CURSOR, page1, 10, since);
    expect(ended.found.map((e) => e.target)).toEqual(['t30', 't29', 't28']);
    expect(ended).toMatchObject({ cursor: null, done: true });
  });

  it('takes every event unfiltered, a server page per page of the app', () => {
    const full = gather(start, FIRST_CURSOR, page1, 4, null);
    expect(full.found).toEqual(page1.events);
    expect(full.cursor).toEqual({ token: '41', skip: 0 });
  });

  it('writes cursors as page tokens and reads them back', () => {
    expect(cursorText(FIRST_CURSOR)).toBe('');
    expect(cursorOf('')).toEqual(FIRST_CURSOR);
    expect(cursorOf(cursorText({ token: '41', skip: 3 }))).toEqual({ token: '41', skip: 3 });
    expect(cursorOf(cursorText({ token: '', skip: 3 }))).toEqual({ token: '', skip: 3 });
  });
});
