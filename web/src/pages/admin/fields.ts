/**
 * The admin forms' plumbing without React: the API's field violations
 * placed beside the fields they name, and a tenant's quotas as form text.
 */
import { ApiError } from '../../api/client';
import type { Quotas } from '../../api/types';

/** A violation's field in proto names (`quotas.max_concurrent_jobs`), whichever way the server spelled it. */
function protoPath(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The API's field errors split into those a form shows beside its `fields` (proto paths) and the rest. */
export interface PlacedErrors {
  /** Description by proto path, for the fields the form has. */
  byField: Record<string, string>;
  /**
   * What the form shows above itself: the error with only the violations no
   * field took (its message names every field, so when all were placed it
   * points to them instead); null when none.
   */
  rest: unknown;
}

export const SEE_FIELDS = 'Correct the fields marked below.';

/** Splits an error's field violations between the form's `fields` and the rest. */
export function placeViolations(error: unknown, fields: readonly string[]): PlacedErrors {
  if (!(error instanceof ApiError)) return { byField: {}, rest: error ?? null };
  const byField: Record<string, string> = {};
  const unplaced = [];
  for (const v of error.violations) {
    const path = protoPath(v.field);
    if (fields.includes(path) && byField[path] === undefined) byField[path] = v.description;
    else unplaced.push(v);
  }
  const message = unplaced.length === 0 && error.violations.length > 0 ? SEE_FIELDS : error.message;
  return { byField, rest: new ApiError(error.status, error.code, message, unplaced) };
}

/** A tenant's limits, in the order the forms show them. */
export const QUOTA_FIELDS = [
  { name: 'maxMoleculesPerJob', field: 'quotas.max_molecules_per_job', label: 'Molecules per job', hint: 'Most molecules in one job.' },
  { name: 'maxMoleculesPerDay', field: 'quotas.max_molecules_per_day', label: 'Molecules per day', hint: 'Most molecules submitted over the last 24 hours.' },
  { name: 'maxConcurrentJobs', field: 'quotas.max_concurrent_jobs', label: 'Concurrent jobs', hint: 'Jobs uploading, queued or running at once.' },
  { name: 'requestsPerSecond', field: 'quotas.requests_per_second', label: 'Requests per second', hint: 'Sustained API requests per second.' },
  { name: 'burst', field: 'quotas.burst', label: 'Burst', hint: 'Requests allowed in a burst.' },
] as const satisfies readonly { name: keyof Quotas; field: string; label: string; hint: string }[];

/** A quota's name in the API's JSON. */
export type QuotaName = (typeof QUOTA_FIELDS)[number]['name'];

/** The quota inputs' text, one per limit. */
export type QuotaText = Record<QuotaName, string>;

/** A tenant's quotas as the inputs' text; none given: every input empty. */
export function quotaText(quotas: Quotas | undefined): QuotaText {
  const text = {} as QuotaText;
  for (const { name } of QUOTA_FIELDS) {
    const value = quotas?.[name];
    text[name] = value === undefined || value === null ? '' : String(value);
  }
  return text;
}

/**
 * The quotas to send: each input's text as typed (proto3 JSON takes integers
 * as strings), so the server judges it and names the field it refuses; an
 * empty input is left out, which the server reads as its default.
 */
export function quotasBody(text: QuotaText): Record<string, string> {
  const body: Record<string, string> = {};
  for (const { name } of QUOTA_FIELDS) {
    const value = text[name].trim();
    if (value !== '') body[name] = value;
  }
  return body;
}
