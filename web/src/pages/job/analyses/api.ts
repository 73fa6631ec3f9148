/**
 * The analyses' REST calls as hooks: one analysis (polled with a backoff
 * while it runs), the analysis types with their parameters
 * (`GET /v1/analysisTypes`), and per-molecule values for plots
 * (`GET /v1/jobs/{id}/values`).
 */
import { useCallback, useEffect, useState } from 'react';
import { ApiError, type Client } from '../../../api/client';
import type { Analysis, ListResultsResponse } from '../../../api/types';
import { useSession } from '../../../app/session';
import { activityNames } from '../columns';
import type { components } from '../../../api/schema';

type S = components['schemas'];

/** True while an analysis is waiting for or being computed by a worker. */
export function isRunning(a: Analysis | null | undefined): boolean {
  return a?.status === 'ANALYSIS_STATUS_PENDING' || a?.status === 'ANALYSIS_STATUS_COMPUTING';
}

const FIRST_POLL_MS = 500;
const MAX_POLL_MS = 5000;

export interface AnalysisState {
  /** The analysis; null when it was never requested (404). */
  analysis: Analysis | null;
  loading: boolean;
  error: unknown;
  /** Starts (or runs again) the analysis with these parameters. */
  run: (params: Record<string, string>) => Promise<void>;
}

/** One analysis of a job, polled (0.5 s, growing to 5 s) until it ends. */
export function useAnalysis(jobId: string, type: string): AnalysisState {
  const { client } = useSession();
  const [analysis, setAnalysis] = useState<Analysis | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  // Bumped by `run` to start polling again.
  const [generation, setGeneration] = useState(0);
  const path = `/v1/jobs/${encodeURIComponent(jobId)}/analyses/${encodeURIComponent(type)}`;

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let delay = FIRST_POLL_MS;
    const poll = () => {
      client
        .get<Analysis>(path, undefined, { signal: controller.signal })
        .then((a) => {
          setAnalysis(a);
          setError(null);
          setLoading(false);
          if (isRunning(a)) {
            timer = setTimeout(poll, delay);
            delay = Math.min(MAX_POLL_MS, delay * 1.5);
          }
        })
        .catch((e: unknown) => {
          if (controller.signal.aborted) return;
          setLoading(false);
          // Never requested (the page checks the job itself exists).
          if (e instanceof ApiError && e.status === 404) setAnalysis(null);
          else setError(e);
        });
    };
    poll();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [client, path, generation]);

  const run = useCallback(
    async (params: Record<string, string>) => {
      const started = await client.post<Analysis>(path, { params });
      setAnalysis(started);
      setGeneration((g) => g + 1);
    },
    [client, path],
  );
  return { analysis, loading, error, run };
}

/** One parameter of an analysis type, as `GET /v1/analysisTypes` describes it. */
export type ParamInfo = S['molbatch.v1.AnalysisParam'];

/** An analysis type: what it computes and the parameters the API validates. */
export type AnalysisTypeInfo = S['molbatch.v1.AnalysisType'];

/**
 * The analysis types. `types` stays null (with `error` set) when the
 * server does not answer them; the page then offers a Run without a form.
 */
export function useAnalysisTypes(): { types: AnalysisTypeInfo[] | null; error: unknown } {
  const { client } = useSession();
  const [types, setTypes] = useState<AnalysisTypeInfo[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const controller = new AbortController();
    client
      .get<S['molbatch.v1.ListAnalysisTypesResponse']>('/v1/analysisTypes', undefined, { signal: controller.signal })
      .then((answer) => setTypes(answer.types ?? []))
      .catch((e: unknown) => controller.signal.aborted || setError(e));
    return () => controller.abort();
  }, [client]);
  return { types, error };
}

/** Per-molecule values of some fields, column by column, in `indices` order. */
export interface Values {
  indices: number[];
  /** One array per field asked, NaN where a molecule has no value. */
  columns: Map<string, Float64Array>;
}

// NaN comes as the string "NaN" (proto3 JSON), which the generated type does not say.
type ValuesJson = Omit<S['molbatch.v1.ResultValues'], 'columns'> & { columns?: { field?: string; values?: (number | string)[] }[] };

/** `GET /v1/jobs/{id}/values?fields=…` of a completed job; null fields ask for nothing. */
export function useValues(jobId: string, fields: string[] | null): { values: Values | null; error: unknown; loading: boolean } {
  const { client } = useSession();
  const [state, setState] = useState<{ key: string; values: Values | null; error: unknown }>({ key: '', values: null, error: null });
  const key = fields ? fields.join('\n') : '';
  useEffect(() => {
    if (!key) return;
    const controller = new AbortController();
    client
      .get<ValuesJson>(`/v1/jobs/${encodeURIComponent(jobId)}/values`, { fields: key.split('\n') }, { signal: controller.signal })
      .then((answer) => {
        const columns = new Map<string, Float64Array>();
        for (const c of answer.columns ?? []) columns.set(c.field ?? '', Float64Array.from(c.values ?? [], Number));
        setState({ key, values: { indices: (answer.indices ?? []).map(Number), columns }, error: null });
      })
      .catch((e: unknown) => controller.signal.aborted || setState({ key, values: null, error: e }));
    return () => controller.abort();
  }, [client, jobId, key]);
  const current = state.key === key;
  return { values: current ? state.values : null, error: current ? state.error : null, loading: !!key && !current };
}

/** The names of a job's activity columns, read from its first results. */
export function useActivityNames(jobId: string): string[] | null {
  const { client } = useSession();
  const [names, setNames] = useState<string[] | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    client
      .get<ListResultsResponse>(`/v1/jobs/${encodeURIComponent(jobId)}/results`, { pageSize: 100, filter: 'valid' }, { signal: controller.signal })
      .then((page) => setNames(activityNames(page.results ?? [])))
      .catch(() => controller.signal.aborted || setNames([]));
    return () => controller.abort();
  }, [client, jobId]);
  return names;
}

/** The input ids of some molecules, read from the results pages (1,000 a page) that hold them. */
export async function inputIds(client: Client, jobId: string, indexes: number[]): Promise<Map<number, string>> {
  const pages = [...new Set(indexes.map((i) => Math.floor(i / 1000) * 1000))];
  const ids = new Map<number, string>();
  for (const start of pages) {
    const page = await client.get<ListResultsResponse>(`/v1/jobs/${encodeURIComponent(jobId)}/results`, { pageSize: 1000, pageToken: String(start) });
    for (const r of page.results ?? []) ids.set(Number(r.index ?? 0), r.inputId ?? '');
  }
  return ids;
}
