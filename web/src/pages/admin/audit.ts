/**
 * The audit log's filters and paging. ListAuditEvents filters by tenant on
 * the server; actor, action and time range are matched here, over the
 * server's pages (newest first), so a page of the app is `pageSize`
 * matching events and its cursor is a server page token plus how many of
 * that page's events were already read.
 */
import type { AuditEvent, ListAuditEventsResponse } from '../../api/types';

/** The filters as the form and the address hold them (times as `datetime-local` text, local time). */
export interface AuditFilter {
  tenant: string;
  actor: string;
  action: string;
  from: string;
  to: string;
}

/** No filter: every event. */
export const NO_FILTER: AuditFilter = { tenant: '', actor: '', action: '', from: '', to: '' };

const FILTER_NAMES = ['tenant', 'actor', 'action', 'from', 'to'] as const;

/** The actions molbatch records, offered as suggestions (the log may hold others). */
export const KNOWN_ACTIONS = ['CreateTenant', 'UpdateTenant', 'CreateApiKey', 'RevokeApiKey', 'CancelJob'];

/** The filters of an address's query (`tenant=…&action=…`); unknown names are ignored. */
export function filterOf(query: URLSearchParams): AuditFilter {
  const filter = { ...NO_FILTER };
  for (const name of FILTER_NAMES) filter[name] = query.get(name)?.trim() ?? '';
  return filter;
}

/** The query of an address holding these filters ('' when none). */
export function filterQuery(filter: AuditFilter): string {
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) if (filter[name].trim()) params.set(name, filter[name].trim());
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** Milliseconds of a `datetime-local` value in this browser's time zone; null when empty; NaN when not a time. */
export function localMs(value: string): number | null {
  if (!value.trim()) return null;
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value.trim()) ? new Date(value.trim()).getTime() : NaN;
}

/** What is wrong with the filters, by filter name; empty when they can be used. */
export function filterProblems(filter: AuditFilter): Partial<Record<keyof AuditFilter, string>> {
  const problems: Partial<Record<keyof AuditFilter, string>> = {};
  const from = localMs(filter.from);
  const to = localMs(filter.to);
  if (Number.isNaN(from)) problems.from = 'Not a date and time (YYYY-MM-DDTHH:MM).';
  if (Number.isNaN(to)) problems.to = 'Not a date and time (YYYY-MM-DDTHH:MM).';
  if (from !== null && to !== null && from > to) problems.to = 'Ends before it starts.';
  return problems;
}

/** The filters matched in the browser; null when every event matches. */
export interface Matcher {
  actor: string;
  action: string;
  fromMs: number | null;
  toMs: number | null;
}

/** The browser-side part of the filters. */
export function matcherOf(filter: AuditFilter): Matcher | null {
  const m: Matcher = { actor: filter.actor.trim(), action: filter.action.trim().toLowerCase(), fromMs: localMs(filter.from), toMs: localMs(filter.to) };
  return m.actor || m.action || m.fromMs !== null || m.toMs !== null ? m : null;
}

function timeMs(event: AuditEvent): number {
  return event.time ? Date.parse(event.time) : NaN;
}

/** Whether an event passes the browser-side filters: the actor by key id, the action by name (any case), the time within [from, to]. */
export function matches(event: AuditEvent, m: Matcher): boolean {
  if (m.actor && event.actorKeyId !== m.actor) return false;
  if (m.action && (event.action ?? '').toLowerCase() !== m.action) return false;
  const t = timeMs(event);
  if (m.fromMs !== null && !(t >= m.fromMs)) return false;
  if (m.toMs !== null && !(t <= m.toMs)) return false;
  return true;
}

/** Where a page of the app starts: a server page's token and how many of its events come before. */
export interface AuditCursor {
  token: string;
  skip: number;
}

/** The start of the log. */
export const FIRST_CURSOR: AuditCursor = { token: '', skip: 0 };

/** A page being gathered from the server's pages. */
export interface Gathering {
  found: AuditEvent[];
  /** The server page to read next, or where the next page of the app starts once `done`. */
  cursor: AuditCursor | null;
  /** Events read from the server so far. */
  searched: number;
  done: boolean;
}

/**
 * Takes one server page (read at `at`) into a page of the app of `want`
 * events. Events are newest first, so one older than `from` ends the search.
 */
export function gather(state: Gathering, at: AuditCursor, response: ListAuditEventsResponse, want: number, m: Matcher | null): Gathering {
  const events = response.events ?? [];
  const found = [...state.found];
  let searched = state.searched;
  const nextServerPage = response.nextPageToken ? { token: response.nextPageToken, skip: 0 } : null;
  for (let i = at.skip; i < events.length; i++) {
    const event = events[i] as AuditEvent;
    searched++;
    if (m?.fromMs != null && timeMs(event) < m.fromMs) return { found, cursor: null, searched, done: true };
    if (m && !matches(event, m)) continue;
    found.push(event);
    if (found.length === want) {
      const cursor = i + 1 < events.length ? { token: at.token, skip: i + 1 } : nextServerPage;
      return { found, cursor, searched, done: true };
    }
  }
  return { found, cursor: nextServerPage, searched, done: nextServerPage === null };
}

/** Server pages read for one page of the app before it shows what it found and offers Next. */
export const MAX_SERVER_PAGES = 20;
/** Events asked per server page when the browser filters (the server's most). */
export const SCAN_PAGE_SIZE = 1000;

/** One page of the app: up to `pageSize` matching events from `start`, and where the next page starts (null on the last). */
export async function auditPage(
  read: (token: string, pageSize: number) => Promise<ListAuditEventsResponse>,
  filter: AuditFilter,
  start: AuditCursor,
  pageSize: number,
): Promise<{ events: AuditEvent[]; next: AuditCursor | null; searched: number }> {
  const m = matcherOf(filter);
  // Unfiltered, a page of the app is a page of the server; filtered, read many at once.
  const serverPageSize = m ? SCAN_PAGE_SIZE : pageSize;
  let state: Gathering = { found: [], cursor: start, searched: 0, done: false };
  for (let pages = 0; !state.done && state.cursor && pages < MAX_SERVER_PAGES; pages++) {
    const at = state.cursor;
    state = gather(state, at, await read(at.token, serverPageSize), pageSize, m);
  }
  return { events: state.found, next: state.cursor, searched: state.searched };
}

/** A cursor as a page token of lib/tokens' stack ('' is the first page). */
export function cursorText(cursor: AuditCursor): string {
  return cursor.token === '' && cursor.skip === 0 ? '' : `${cursor.skip} ${cursor.token}`;
}

/** The cursor a page token of `cursorText` stands for. */
export function cursorOf(text: string): AuditCursor {
  const space = text.indexOf(' ');
  if (space < 0) return FIRST_CURSOR;
  return { skip: Number(text.slice(0, space)) || 0, token: text.slice(space + 1) };
}
