/** Display formats shared by the pages. */
import type { JobState } from '../api/types';

const STATE_LABELS: Record<string, string> = {
  JOB_STATE_UNSPECIFIED: 'Unknown',
  JOB_STATE_UPLOADING: 'Uploading',
  JOB_STATE_QUEUED: 'Queued',
  JOB_STATE_RUNNING: 'Running',
  JOB_STATE_COMPLETED: 'Completed',
  JOB_STATE_FAILED: 'Failed',
  JOB_STATE_CANCELLED: 'Cancelled',
};

/** The states a user filters by, in life order. */
export const JOB_STATES: JobState[] = [
  'JOB_STATE_UPLOADING',
  'JOB_STATE_QUEUED',
  'JOB_STATE_RUNNING',
  'JOB_STATE_COMPLETED',
  'JOB_STATE_FAILED',
  'JOB_STATE_CANCELLED',
];

export function stateLabel(state: string | undefined): string {
  return STATE_LABELS[state ?? 'JOB_STATE_UNSPECIFIED'] ?? state ?? 'Unknown';
}

/** True while the job can still change (its progress is worth watching). */
export function isActive(state: string | undefined): boolean {
  return state === 'JOB_STATE_UPLOADING' || state === 'JOB_STATE_QUEUED' || state === 'JOB_STATE_RUNNING';
}

/** True when a user may cancel the job. */
export function isCancellable(state: string | undefined): boolean {
  return isActive(state);
}

/** True when a user may run the job again from its stored input: it failed
 * or was cancelled after its upload completed (it has chunks). */
export function isRetryable(job: { state?: string; totalChunks?: number }): boolean {
  return (job.state === 'JOB_STATE_FAILED' || job.state === 'JOB_STATE_CANCELLED') && (job.totalChunks ?? 0) > 0;
}

/** proto3 JSON writes 64-bit integers as strings. */
export function num(value: string | number | undefined | null): number {
  if (value === undefined || value === null || value === '') return 0;
  return typeof value === 'number' ? value : Number(value);
}

const integer = new Intl.NumberFormat('en-US');

export function count(value: string | number | undefined | null): string {
  return integer.format(num(value));
}

/** A number with `digits` decimals, or an en dash when absent. */
export function fixed(value: number | string | undefined | null, digits = 2): string {
  if (value === undefined || value === null || value === '') return '–';
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n.toFixed(digits) : String(value);
}

/** "in 2 min"-style time until a timestamp ("now" when it has passed). */
export function until(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return '–';
  const then = Date.parse(timestamp);
  if (!Number.isFinite(then)) return '–';
  const s = Math.round((then - now) / 1000);
  if (s <= 0) return 'now';
  if (s < 60) return `in ${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `in ${m} min`;
  return `in ${Math.floor(m / 60)} h ${m % 60} min`;
}

/** "3 min ago"-style age of a timestamp. */
export function age(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return '–';
  const then = Date.parse(timestamp);
  if (!Number.isFinite(then)) return '–';
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} d ago`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** The share of a job's molecules that have a result, 0..1; null while the total is unknown. */
export function progress(job: { totalMolecules?: string | number; processedMolecules?: string | number; state?: string }): number | null {
  if (job.state === 'JOB_STATE_COMPLETED') return 1;
  const total = num(job.totalMolecules);
  if (total <= 0) return null;
  return Math.min(1, num(job.processedMolecules) / total);
}
