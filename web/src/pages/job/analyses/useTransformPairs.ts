/**
 * The pairs of the transform chosen in the matched-pairs view: filtered from
 * the analysis result when it holds every pair, otherwise gathered from
 * `GET /v1/jobs/{id}/analyses/mmp/pairs` pages as they arrive (see `mmp.ts`).
 */
import { useEffect, useMemo, useState } from 'react';
import type { ListMatchedPairsResponse } from '../../../api/types';
import { useSession } from '../../../app/session';
import { gatherPairs, holdsEveryPair, isOfTransform, type GatheredPairs, type MmpResult } from './mmp';

export interface TransformPairs extends GatheredPairs {
  error: unknown;
}

const NONE: TransformPairs = { pairs: [], scanned: 0, loading: false, truncated: false, error: null };
const STARTING: TransformPairs = { ...NONE, loading: true };

/** `transform`'s pairs; `expected` (its count in the transforms table) ends the scan early. */
export function useTransformPairs(jobId: string, mmp: MmpResult, transform: string | null, expected?: number): TransformPairs {
  const { client } = useSession();
  const paged = !holdsEveryPair(mmp);
  const local = useMemo(
    () => (transform && !paged ? (mmp.pairs ?? []).filter((p) => isOfTransform(p, transform)) : []),
    [mmp.pairs, transform, paged],
  );
  // Tagged with the transform it is for, so a newly chosen one never shows the last one's pairs.
  const [state, setState] = useState<{ key: string; pairs: TransformPairs }>({ key: '', pairs: NONE });
  const key = transform && paged ? `${jobId}\n${transform}` : '';

  useEffect(() => {
    if (!key || !transform) return;
    const controller = new AbortController();
    const path = `/v1/jobs/${encodeURIComponent(jobId)}/analyses/mmp/pairs`;
    gatherPairs((pageToken) => client.get<ListMatchedPairsResponse>(path, { pageToken }, { signal: controller.signal }), transform, {
      expected,
      onPage: (gathered) => controller.signal.aborted || setState({ key, pairs: { ...gathered, error: null } }),
    }).catch((e: unknown) => {
      if (controller.signal.aborted) return;
      setState((s) => ({ key, pairs: { ...(s.key === key ? s.pairs : NONE), loading: false, error: e } }));
    });
    return () => controller.abort();
  }, [client, jobId, key, transform, expected]);

  if (!transform) return NONE;
  if (!paged) return { ...NONE, pairs: local, scanned: mmp.pairs?.length ?? 0 };
  return state.key === key ? state.pairs : STARTING;
}
