/**
 * Structure depictions: SVG from the server (the same drawing as the API's),
 * shown as `<img src="blob:…">` — never injected into the page, so the
 * strict CSP holds and an image cannot run script. A page of results asks
 * for all its structures in one request (`POST /v1/depictions:batch`);
 * a highlighted alert is one `GET /v1/depictions`, and a page of
 * substructure hits, each with its matched atoms (`highlightAtoms`), one
 * batch like a page of results. Images are cached in memory per
 * (job, index, size, highlighted alert or atoms).
 */
import { useEffect, useState } from 'react';
import type { Client } from '../api/client';
import type { BatchDepictResponse } from '../api/types';

export interface DepictionEntry {
  /** An object URL of the SVG, when drawn. */
  url?: string;
  /** The SMILES drawn (the image's alt text). */
  smiles?: string;
  /** Why it could not be drawn. */
  error?: string;
}

export interface DepictionSize {
  width: number;
  height: number;
}

const MAX_ENTRIES = 3000;
const cache = new Map<string, DepictionEntry>();

/** A job's molecule to draw, optionally with atoms highlighted (a substructure hit's `atoms`). */
export interface MoleculeDrawing {
  index: number;
  /** Atoms of the molecule's standardised SMILES, as RDKit numbers them. */
  highlightAtoms?: readonly number[];
}

export function depictionKey(jobId: string, index: number, size: DepictionSize, highlightAlert = '', highlightAtoms: readonly number[] = []): string {
  return `${jobId}\u0000${index}\u0000${size.width}x${size.height}\u0000${highlightAlert}\u0000${highlightAtoms.join(',')}`;
}

const drawingKey = (jobId: string, d: MoleculeDrawing, size: DepictionSize) => depictionKey(jobId, d.index, size, '', d.highlightAtoms);

function remember(key: string, entry: DepictionEntry): void {
  cache.set(key, entry);
  if (cache.size > MAX_ENTRIES) {
    // Evict the oldest (a Map iterates in insertion order).
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) {
      const gone = cache.get(oldest);
      cache.delete(oldest);
      if (gone?.url) URL.revokeObjectURL(gone.url);
    }
  }
}

function svgEntry(svg: string | undefined, smiles: string | undefined, error: string | undefined): DepictionEntry {
  if (error || !svg) return { error: error || 'no drawing', smiles };
  return { url: URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' })), smiles };
}

async function fetchOne(client: Client, jobId: string, index: number, size: DepictionSize, highlightAlert: string, signal: AbortSignal): Promise<DepictionEntry> {
  try {
    const d = await client.get<{ smiles?: string; svg?: string }>(
      '/v1/depictions',
      { jobId, index, width: size.width, height: size.height, highlightAlert: highlightAlert || undefined },
      { signal },
    );
    return svgEntry(d.svg, d.smiles, undefined);
  } catch (e) {
    if (signal.aborted) throw e;
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/** The BatchDepict request drawing `drawings` of a job. */
export function batchRequest(jobId: string, drawings: readonly MoleculeDrawing[], size: DepictionSize) {
  return {
    requests: drawings.map(({ index, highlightAtoms }) => ({
      jobId,
      index,
      width: size.width,
      height: size.height,
      ...(highlightAtoms?.length ? { highlightAtoms: [...highlightAtoms] } : {}),
    })),
  };
}

async function fetchMany(client: Client, jobId: string, drawings: readonly MoleculeDrawing[], size: DepictionSize, signal: AbortSignal): Promise<DepictionEntry[]> {
  const answer = await client.post<BatchDepictResponse>('/v1/depictions:batch', batchRequest(jobId, drawings, size), { signal });
  // Answers come in request order; an item that cannot be drawn has `error`.
  return drawings.map((_, i) => {
    const d = answer.depictions?.[i];
    return svgEntry(d?.svg, d?.smiles, d ? d.error : 'missing from the answer');
  });
}

/** Prefetches in flight, by job: the page waits for them rather than asking twice. */
const prefetches = new Map<string, Promise<void>>();

/**
 * Starts drawing molecules `indexes` of a job before its results arrive
 * (a job page's first page, in input order, is molecules 0..n-1), so the
 * structures come with the table instead of after it. A job that has not
 * COMPLETED refuses; that is ignored and nothing is cached.
 */
export function prefetchDepictions(client: Client, jobId: string, indexes: number[], size: DepictionSize): void {
  if (prefetches.has(jobId) || indexes.every((i) => cache.has(depictionKey(jobId, i, size)))) return;
  const done = fetchMany(client, jobId, indexes.map((index) => ({ index })), size, new AbortController().signal)
    .then((entries) => entries.forEach((entry, i) => remember(depictionKey(jobId, indexes[i] as number, size), entry)))
    .catch(() => undefined)
    .finally(() => prefetches.delete(jobId));
  prefetches.set(jobId, done);
}

/**
 * The depictions of molecules `indexes` of a job, fetched in one request
 * for the ones not cached; entries appear as they arrive.
 */
export function usePageDepictions(client: Client, jobId: string, indexes: number[], size: DepictionSize): Map<number, DepictionEntry> {
  return useMoleculeDepictions(client, jobId, indexes.map((index) => ({ index })), size);
}

/**
 * The depictions of some of a job's molecules (at most 200, each index
 * once), each with its own highlighted atoms if any, fetched in one request
 * for the ones not cached; entries appear as they arrive, by index.
 */
export function useMoleculeDepictions(client: Client, jobId: string, drawings: readonly MoleculeDrawing[], size: DepictionSize): Map<number, DepictionEntry> {
  const [, setVersion] = useState(0);
  const wanted = drawings.map((d) => `${d.index}:${d.highlightAtoms?.join(',') ?? ''}`).join(';');
  useEffect(() => {
    const controller = new AbortController();
    const missingNow = () => drawings.filter((d) => !cache.has(drawingKey(jobId, d, size)));
    if (missingNow().length === 0) return;
    let missing: MoleculeDrawing[] = [];
    (prefetches.get(jobId) ?? Promise.resolve())
      .then(() => {
        missing = missingNow();
        return missing.length === 0 ? [] : fetchMany(client, jobId, missing, size, controller.signal);
      })
      .then((entries) => {
        if (controller.signal.aborted) return;
        entries.forEach((entry, i) => remember(drawingKey(jobId, missing[i] as MoleculeDrawing, size), entry));
        setVersion((v) => v + 1);
      })
      .catch((e: unknown) => {
        if (controller.signal.aborted) return;
        const error = e instanceof Error ? e.message : String(e);
        for (const d of missing) remember(drawingKey(jobId, d, size), { error });
        setVersion((v) => v + 1);
      });
    return () => controller.abort();
    // `wanted` stands for `drawings`; size is two numbers.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, jobId, wanted, size.width, size.height]);
  const out = new Map<number, DepictionEntry>();
  for (const d of drawings) {
    const entry = cache.get(drawingKey(jobId, d, size));
    if (entry) out.set(d.index, entry);
  }
  return out;
}

/** One depiction, optionally with an alert's matched atoms highlighted. */
export function useDepiction(client: Client, jobId: string, index: number, size: DepictionSize, highlightAlert = ''): DepictionEntry | undefined {
  const key = depictionKey(jobId, index, size, highlightAlert);
  const [, setVersion] = useState(0);
  useEffect(() => {
    if (cache.has(key)) return;
    const controller = new AbortController();
    fetchOne(client, jobId, index, size, highlightAlert, controller.signal)
      .then((entry) => {
        remember(key, entry);
        setVersion((v) => v + 1);
      })
      .catch(() => undefined);
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, key]);
  return cache.get(key);
}

async function fetchSmiles(client: Client, smiles: string[], size: DepictionSize, signal: AbortSignal): Promise<DepictionEntry[]> {
  const answer = await client.post<BatchDepictResponse>(
    '/v1/depictions:batch',
    { requests: smiles.map((s) => ({ smiles: s, width: size.width, height: size.height })) },
    { signal },
  );
  return smiles.map((s, i) => {
    const d = answer.depictions?.[i];
    return svgEntry(d?.svg, d?.smiles ?? s, d ? d.error : 'missing from the answer');
  });
}

/** Most depictions one BatchDepict call may ask for. */
const BATCH_LIMIT = 200;

/**
 * The depictions of SMILES that are not a job's molecules (scaffolds,
 * R-groups, cores), in calls of at most 200; entries appear as they arrive.
 */
export function useSmilesDepictions(client: Client, smiles: string[], size: DepictionSize): Map<string, DepictionEntry> {
  const [, setVersion] = useState(0);
  const keyOf = (s: string) => `smiles\u0000${s}\u0000${size.width}x${size.height}`;
  const wanted = smiles.join('\n');
  useEffect(() => {
    const controller = new AbortController();
    const missing = [...new Set(smiles.filter((s) => !cache.has(keyOf(s))))];
    for (let start = 0; start < missing.length; start += BATCH_LIMIT) {
      const part = missing.slice(start, start + BATCH_LIMIT);
      fetchSmiles(client, part, size, controller.signal)
        .then((entries) => entries.forEach((entry, i) => remember(keyOf(part[i] as string), entry)))
        .catch((e: unknown) => {
          if (controller.signal.aborted) return;
          const error = e instanceof Error ? e.message : String(e);
          for (const s of part) remember(keyOf(s), { error, smiles: s });
        })
        .finally(() => controller.signal.aborted || setVersion((v) => v + 1));
    }
    return () => controller.abort();
    // `wanted` stands for `smiles`; size is two numbers.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, wanted, size.width, size.height]);
  const out = new Map<string, DepictionEntry>();
  for (const s of smiles) {
    const entry = cache.get(keyOf(s));
    if (entry) out.set(s, entry);
  }
  return out;
}
