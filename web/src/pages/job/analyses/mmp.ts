/**
 * The mmp analysis's pairs and transforms, without React. The analysis
 * result holds totals, the first page of pairs (in constant-group order)
 * and the most frequent transforms; `GET /v1/jobs/{id}/analyses/mmp/pairs`
 * pages every pair. A transform's pairs are gathered from those pages, at
 * most `MAX_PAIR_PAGES` of them: the rest is the CLI's `--pairs-csv`.
 */
import type { Analysis, ListMatchedPairsResponse } from '../../../api/types';
import { num } from '../../../lib/format';

export type MmpResult = NonNullable<Analysis['mmp']>;
export type MatchedPair = NonNullable<ListMatchedPairsResponse['pairs']>[number];

/** Pair pages read for one transform before the view stops and points to the CLI. */
export const MAX_PAIR_PAGES = 10;

/** Pairs and distinct transforms in all; array lengths for results stored before the totals. */
export function mmpTotals(mmp: MmpResult): { pairs: number; transforms: number } {
  return {
    pairs: mmp.pairCount === undefined ? (mmp.pairs?.length ?? 0) : num(mmp.pairCount),
    transforms: mmp.transformCount === undefined ? (mmp.transforms?.length ?? 0) : num(mmp.transformCount),
  };
}

/** True when the result's own pairs are every pair (a small job, or a result stored before paging). */
export function holdsEveryPair(mmp: MmpResult): boolean {
  return mmpTotals(mmp).pairs <= (mmp.pairs?.length ?? 0);
}

/**
 * True when a pair is of the transform `A>>B`. A pair is written in its
 * transform's direction; results stored before that (pairs from the lower
 * index) may hold it as `B>>A`, so that reading counts too.
 */
export function isOfTransform(pair: MatchedPair, transform: string): boolean {
  if (pair.transform === transform) return true;
  const [a, b] = transform.split('>>');
  return pair.transform === `${b}>>${a}`;
}

/** A transform's pairs found so far in the pair pages. */
export interface GatheredPairs {
  pairs: MatchedPair[];
  /** Pairs read, of every transform. */
  scanned: number;
  /** More pages are being read. */
  loading: boolean;
  /** The page limit stopped the scan before the last page (and before every expected pair was found). */
  truncated: boolean;
}

export interface GatherOptions {
  /** The transform's pair count: the scan stops once that many are found. */
  expected?: number;
  maxPages?: number;
  /** Called after each page with what has been found so far. */
  onPage?: (gathered: GatheredPairs) => void;
}

/**
 * Reads pair pages from the first, following `nextPageToken`, and keeps the
 * pairs of `transform`. Ends at the last page, once `expected` pairs are
 * found, or after `maxPages` pages; a failed page rejects.
 */
export async function gatherPairs(
  fetchPage: (pageToken: string) => Promise<ListMatchedPairsResponse>,
  transform: string,
  { expected, maxPages = MAX_PAIR_PAGES, onPage }: GatherOptions = {},
): Promise<GatheredPairs> {
  let pairs: MatchedPair[] = [];
  let scanned = 0;
  let token = '';
  for (let page = 1; ; page++) {
    const answer = await fetchPage(token);
    const read = answer.pairs ?? [];
    scanned += read.length;
    pairs = pairs.concat(read.filter((p) => isOfTransform(p, transform)));
    token = answer.nextPageToken ?? '';
    const complete = !token || (expected !== undefined && pairs.length >= expected);
    const truncated = !complete && page >= maxPages;
    const gathered = { pairs, scanned, loading: !complete && !truncated, truncated };
    onPage?.(gathered);
    if (!gathered.loading) return gathered;
  }
}
