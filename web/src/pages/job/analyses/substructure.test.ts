import { describe, expect, it } from 'vitest';
import { count } from '../../../lib/format';
import { firstPage, nextPage, previousPage } from '../../../lib/tokens';
import { countsSoFar, countsText, DEFAULT_PAGE_SIZE, emptySearch, pageCounts, parseSearch, searchQuery, searchRequest, type SearchCounts, type SubstructureSearch } from './substructure';

describe('a substructure search in the address', () => {
  it('reads the query, syntax, stereo box and page size, defaulting what is missing or unreadable', () => {
    expect(parseSearch(undefined)).toEqual(emptySearch);
    expect(parseSearch('q=c1ccc2%5BnH%5Dccc2c1&syntax=smarts&chirality=1&size=2')).toEqual({ query: 'c1ccc2[nH]ccc2c1', syntax: 'smarts', useChirality: true, pageSize: 2 });
    expect(parseSearch('q=%20CCO%20&syntax=inchi&chirality=yes&size=-3')).toEqual({ query: 'CCO', syntax: 'smiles', useChirality: false, pageSize: DEFAULT_PAGE_SIZE });
    // A page's structures are one BatchDepict call of at most 200.
    expect(parseSearch('q=C&size=1000').pageSize).toBe(200);
    expect(parseSearch('q=C&size=2.5').pageSize).toBe(DEFAULT_PAGE_SIZE);
  });

  it('writes a search back to the query it came from, defaults left out and SMILES escaped', () => {
    const searches: SubstructureSearch[] = [
      { query: 'F/C=C/F', syntax: 'smiles', useChirality: false, pageSize: DEFAULT_PAGE_SIZE },
      { query: 'C[C@H](N)C(=O)O', syntax: 'smiles', useChirality: true, pageSize: 25 },
      { query: '[#6]~[#7;R]&#?', syntax: 'smarts', useChirality: false, pageSize: 1 },
    ];
    for (const s of searches) expect(parseSearch(searchQuery(s))).toEqual(s);
    expect(searchQuery(searches[0] as SubstructureSearch)).toBe('q=F%2FC%3DC%2FF');
  });
});

describe('a substructure search request', () => {
  it('names the syntax as the API does and sends a page token only after the first page', () => {
    const smarts: SubstructureSearch = { query: 'c1ccc2[nH]ccc2c1', syntax: 'smarts', useChirality: false, pageSize: 50 };
    expect(searchRequest(smarts, '')).toEqual({ query: 'c1ccc2[nH]ccc2c1', syntax: 'QUERY_SYNTAX_SMARTS', useChirality: false, pageSize: 50 });
    expect(searchRequest({ ...smarts, syntax: 'smiles', useChirality: true }, 'abc')).toEqual({
      query: 'c1ccc2[nH]ccc2c1',
      syntax: 'QUERY_SYNTAX_SMILES',
      useChirality: true,
      pageSize: 50,
      pageToken: 'abc',
    });
  });
});

describe('counts over the pages seen', () => {
  // 64-bit integers arrive as strings.
  const page1 = pageCounts({ hits: [{ index: 0 }, { index: 3 }], scanned: '4' as unknown as number, candidates: '3' as unknown as number, searched: 10, nextPageToken: 't2' });
  const page2 = pageCounts({ hits: [{ index: 7 }], scanned: 4, candidates: 2, searched: 10, nextPageToken: '' });

  it('adds up the pages up to the current one, forward and back', () => {
    expect(page1).toEqual({ hits: 2, scanned: 4, candidates: 3 });
    const pages = new Map<string, SearchCounts>([['', page1]]);
    expect(countsSoFar(firstPage, pages)).toEqual(page1);
    const second = nextPage(firstPage, 't2');
    // The second page is not answered yet.
    expect(countsSoFar(second, pages)).toBeNull();
    pages.set('t2', page2);
    expect(countsSoFar(second, pages)).toEqual({ hits: 3, scanned: 8, candidates: 5 });
    expect(countsSoFar(previousPage(second), pages)).toEqual(page1);
  });

  it('says how far the search has looked, and when it is done', () => {
    expect(countsText({ hits: 3, scanned: 1200, candidates: 15 }, 2000, false, count)).toBe('3 hits so far; looked at 1,200 of 2,000 valid molecules, 15 passed the fingerprint screen.');
    expect(countsText({ hits: 1, scanned: 1, candidates: 1 }, 1, true, count)).toBe('1 hit in all; looked at 1 of 1 valid molecule, 1 passed the fingerprint screen.');
  });
});
