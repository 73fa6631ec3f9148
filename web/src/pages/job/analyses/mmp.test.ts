import { describe, expect, it } from 'vitest';
import type { ListMatchedPairsResponse } from '../../../api/types';
import { gatherPairs, holdsEveryPair, isOfTransform, MAX_PAIR_PAGES, mmpTotals, type GatheredPairs, type MatchedPair } from './mmp';

const pair = (a: number, transform: string): MatchedPair => ({ a, b: a + 1, transform });

/** Pair pages as the API answers them: tokens are the next page's number, empty on the last. */
function pages(...contents: MatchedPair[][]) {
  const asked: string[] = [];
  const fetchPage = (token: string): Promise<ListMatchedPairsResponse> => {
    asked.push(token);
    const n = token ? Number(token) : 0;
    return Promise.resolve({ pairs: contents[n] ?? [], nextPageToken: n + 1 < contents.length ? String(n + 1) : '' });
  };
  return { fetchPage, asked };
}

describe('the mmp totals', () => {
  it('are the counts the result states, 64-bit integers arriving as strings', () => {
    const mmp = { pairCount: '45000' as unknown as number, transformCount: 1800, pairs: [pair(0, 'x>>y')], transforms: [{ transform: 'x>>y' }] };
    expect(mmpTotals(mmp)).toEqual({ pairs: 45_000, transforms: 1800 });
    expect(holdsEveryPair(mmp)).toBe(false);
  });

  it('are the array lengths for a result stored before the totals', () => {
    const mmp = { pairs: [pair(0, 'x>>y'), pair(2, 'y>>x')], transforms: [{ transform: 'x>>y' }] };
    expect(mmpTotals(mmp)).toEqual({ pairs: 2, transforms: 1 });
    expect(holdsEveryPair(mmp)).toBe(true);
    expect(mmpTotals({})).toEqual({ pairs: 0, transforms: 0 });
    expect(holdsEveryPair({ pairCount: 2, pairs: [pair(0, 'x>>y'), pair(2, 'y>>x')] })).toBe(true);
  });
});

describe("a transform's pairs", () => {
  it('match the transform read either way, and no other', () => {
    expect(isOfTransform(pair(0, '[*:1]C>>[*:1]Cl'), '[*:1]C>>[*:1]Cl')).toBe(true);
    expect(isOfTransform(pair(0, '[*:1]Cl>>[*:1]C'), '[*:1]C>>[*:1]Cl')).toBe(true);
    expect(isOfTransform(pair(0, '[*:1]C>>[*:1]Br'), '[*:1]C>>[*:1]Cl')).toBe(false);
    expect(isOfTransform({ a: 0, b: 1 }, '[*:1]C>>[*:1]Cl')).toBe(false);
  });

  it('are gathered from every page in order, reported page by page', async () => {
    const { fetchPage, asked } = pages([pair(0, 'x>>y'), pair(1, 'x>>z')], [pair(2, 'y>>x')], [pair(3, 'z>>x'), pair(4, 'x>>y')]);
    const seen: GatheredPairs[] = [];
    const done = await gatherPairs(fetchPage, 'x>>y', { onPage: (g) => seen.push(g) });
    expect(asked).toEqual(['', '1', '2']);
    expect(done).toEqual({ pairs: [pair(0, 'x>>y'), pair(2, 'y>>x'), pair(4, 'x>>y')], scanned: 5, loading: false, truncated: false });
    expect(seen.map((g) => [g.pairs.length, g.scanned, g.loading])).toEqual([
      [1, 2, true],
      [2, 3, true],
      [3, 5, false],
    ]);
    expect(seen.at(-1)).toEqual(done);
  });

  it('stop once as many as the transform counts are found', async () => {
    const { fetchPage, asked } = pages([pair(0, 'x>>y')], [pair(1, 'y>>x')], [pair(2, 'x>>y')]);
    const done = await gatherPairs(fetchPage, 'x>>y', { expected: 2 });
    expect(asked).toEqual(['', '1']);
    expect(done).toMatchObject({ scanned: 2, loading: false, truncated: false });
    expect(done.pairs).toHaveLength(2);
  });

  it(`stop after ${MAX_PAIR_PAGES} pages and say the scan was cut short`, async () => {
    const many = Array.from({ length: MAX_PAIR_PAGES + 3 }, (_, i) => [pair(2 * i, 'x>>y'), pair(2 * i + 1, 'a>>b')]);
    const { fetchPage, asked } = pages(...many);
    const done = await gatherPairs(fetchPage, 'x>>y', { expected: 1000 });
    expect(asked).toHaveLength(MAX_PAIR_PAGES);
    expect(done).toMatchObject({ scanned: 2 * MAX_PAIR_PAGES, loading: false, truncated: true });
    expect(done.pairs).toHaveLength(MAX_PAIR_PAGES);
    // A scan that ends on the limit's last page read everything.
    const exact = pages(...many.slice(0, 2));
    expect(await gatherPairs(exact.fetchPage, 'x>>y', { maxPages: 2 })).toMatchObject({ truncated: false, loading: false });
  });

  it('reject when a page fails', async () => {
    const failing = (token: string) => (token ? Promise.reject(new Error('page 2 failed')) : Promise.resolve({ pairs: [pair(0, 'x>>y')], nextPageToken: '1' }));
    const seen: GatheredPairs[] = [];
    await expect(gatherPairs(failing, 'x>>y', { onPage: (g) => seen.push(g) })).rejects.toThrow('page 2 failed');
    expect(seen).toHaveLength(1);
  });
});
