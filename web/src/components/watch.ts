/**
 * Live job progress through the server-sent-events watch
 * (`GET /v1/jobs/{id}:watch`, read with fetch since EventSource cannot send
 * the key). Each event is a JobEvent, `{"job": {...}}`. A dropped stream is
 * reopened while the job is still active.
 */
import { useEffect, useRef } from 'react';
import type { Client } from '../api/client';
import type { Job, JobEvent } from '../api/types';
import { isActive } from '../lib/format';

/** Most jobs watched at once: the browser keeps ~6 connections per server. */
export const MAX_WATCHES = 3;

export function watchJob(client: Client, jobId: string, onJob: (job: Job) => void, signal: AbortSignal): void {
  let last: Job | null = null;
  let failures = 0;
  const run = async () => {
    while (!signal.aborted) {
      try {
        await client.stream<JobEvent>(
          `/v1/jobs/${encodeURIComponent(jobId)}:watch`,
          (event) => {
            if (!event.job) return;
            last = event.job;
            failures = 0;
            onJob(event.job);
          },
          signal,
        );
      } catch {
        failures++;
      }
      if (signal.aborted || (last && !isActive(last.state)) || failures > 5) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 500 * 2 ** failures)));
    }
  };
  void run();
}

/** Watches each of `jobIds` (at most MAX_WATCHES) while mounted. */
export function useJobWatches(client: Client, jobIds: string[], onJob: (job: Job) => void): void {
  const callback = useRef(onJob);
  useEffect(() => {
    callback.current = onJob;
  });
  const ids = jobIds.slice(0, MAX_WATCHES).join(',');
  useEffect(() => {
    if (!ids) return;
    const controller = new AbortController();
    for (const id of ids.split(',')) watchJob(client, id, (job) => callback.current(job), controller.signal);
    return () => controller.abort();
  }, [client, ids]);
}
