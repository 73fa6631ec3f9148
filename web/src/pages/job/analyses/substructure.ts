/**
 * A substructure search's state, without React: the search as it sits in
 * the address (`#/jobs/<id>/analyses/substructure?q=…&syntax=smarts&chirality=1&size=50`,
 * so a search can be linked and reloaded), the request it makes, and its
 * counts added up over the pages seen so far (the API counts per page).
 */
import type { components } from '../../../api/schema';
import { num } from '../../../lib/format';
import type { TokenStack } from '../../../lib/tokens';

type S = components['schemas'];
export type SearchSubstructureRequest = S['molbatch.v1.SearchSubstructureRequest'];
export type SearchSubstructureResponse = S['molbatch.v1.SearchSubstructureResponse'];
export type SubstructureHit = S['molbatch.v1.SubstructureHit'];

/** How the query's text is read. */
export type Syntax = 'smiles' | 'smarts';

export interface SubstructureSearch {
  /** The query as typed (trimmed); empty before a search. */
  query: string;
  syntax: Syntax;
  /** Match tetrahedral stereo. */
  useChirality: boolean;
  /** Hits per page. */
  pageSize: number;
}

/** Hits per page unless the address says otherwise. */
export const DEFAULT_PAGE_SIZE = 50;
/**
 * The most hits a page may ask for here: a page's structures are one
 * BatchDepict call, which takes at most 200 (the search itself takes 1,000).
 */
export const MAX_PAGE_SIZE = 200;

export const emptySearch: SubstructureSearch = { query: '', syntax: 'smiles', useChirality: false, pageSize: DEFAULT_PAGE_SIZE };

/** The search an address's query describes; anything missing or unreadable is its default. */
export function parseSearch(query: string | undefined): SubstructureSearch {
  const params = new URLSearchParams(query ?? '');
  const size = Number(params.get('size'));
  return {
    query: (params.get('q') ?? '').trim(),
    syntax: params.get('syntax')?.toLowerCase() === 'smarts' ? 'smarts' : 'smiles',
    useChirality: params.get('chirality') === '1',
    pageSize: Number.isInteger(size) && size >= 1 ? Math.min(size, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE,
  };
}

/** The address query of a search, defaults left out; `parseSearch` reads it back. */
export function searchQuery(search: SubstructureSearch): string {
  const params = new URLSearchParams();
  params.set('q', search.query.trim());
  if (search.syntax === 'smarts') params.set('syntax', 'smarts');
  if (search.useChirality) params.set('chirality', '1');
  if (search.pageSize !== DEFAULT_PAGE_SIZE) params.set('size', String(search.pageSize));
  return params.toString();
}

/** The body of `POST /v1/jobs/{job_id}/substructure:search` for one page. */
export function searchRequest(search: SubstructureSearch, pageToken: string): SearchSubstructureRequest {
  return {
    query: search.query,
    syntax: search.syntax === 'smarts' ? 'QUERY_SYNTAX_SMARTS' : 'QUERY_SYNTAX_SMILES',
    useChirality: search.useChirality,
    pageSize: search.pageSize,
    ...(pageToken ? { pageToken } : {}),
  };
}

/** What one page, or the pages up to one, found and looked at. */
export interface SearchCounts {
  hits: number;
  /** Valid molecules looked at. */
  scanned: number;
  /** Of those, the ones the fingerprint screen let through to the matcher. */
  candidates: number;
}

/** A page's own counts (64-bit integers come as strings). */
export function pageCounts(page: SearchSubstructureResponse): SearchCounts {
  return { hits: page.hits?.length ?? 0, scanned: num(page.scanned), candidates: num(page.candidates) };
}

/**
 * The counts of the pages up to and including the current one, from each
 * page's own counts by its token; null while one of them is not known.
 */
export function countsSoFar(tokens: TokenStack, pages: ReadonlyMap<string, SearchCounts>): SearchCounts | null {
  const total: SearchCounts = { hits: 0, scanned: 0, candidates: 0 };
  for (const token of [...tokens.previous, tokens.current]) {
    const page = pages.get(token);
    if (!page) return null;
    total.hits += page.hits;
    total.scanned += page.scanned;
    total.candidates += page.candidates;
  }
  return total;
}

/** Plural-aware "1 hit" / "3 hits". */
function plural(n: number, word: string, format: (n: number) => string): string {
  return `${format(n)} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The sentence under a search: "3 hits so far; looked at 120 of 2,000
 * valid molecules, 15 passed the fingerprint screen." (`done` after the last page.)
 */
export function countsText(counts: SearchCounts, searched: number, done: boolean, format: (n: number) => string): string {
  const hits = plural(counts.hits, 'hit', format);
  return `${done ? `${hits} in all` : `${hits} so far`}; looked at ${format(counts.scanned)} of ${plural(searched, 'valid molecule', format)}, ${format(counts.candidates)} passed the fingerprint screen.`;
}
