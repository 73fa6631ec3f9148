/**
 * The one module that talks to the molbatch REST API: it owns `fetch`, the
 * API key (sent as `Authorization: Bearer`, never put in a URL or logged),
 * the JSON error bodies (shown to the user as the server words them),
 * retries of 503 and 429 after `Retry-After`, the server-sent-events watch
 * and the streamed upload.
 */
import { SseParser } from './sse';

/** One field the server refused, as the server words it. */
export interface FieldViolation {
  field: string;
  description: string;
}

/** An error answer of the API, or a network failure (status 0). */
export class ApiError extends Error {
  /** HTTP status; 0 when the server could not be reached. */
  readonly status: number;
  /** The gRPC status name, e.g. INVALID_ARGUMENT, NOT_FOUND. */
  readonly code: string;
  readonly violations: FieldViolation[];

  constructor(status: number, code: string, message: string, violations: FieldViolation[] = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.violations = violations;
  }
}

export const NETWORK_MESSAGE =
  'Cannot reach the molbatch server. Check that it is running and that this computer is on its network, then try again.';

interface ErrorJson {
  error?: {
    code?: number;
    status?: string;
    message?: string;
    details?: { '@type'?: string; fieldViolations?: { field?: string; description?: string }[] }[];
  };
}

/** The ApiError an error answer's status and body describe. */
export function errorFromBody(status: number, bodyText: string): ApiError {
  let parsed: ErrorJson | null;
  try {
    parsed = JSON.parse(bodyText) as ErrorJson;
  } catch {
    parsed = null;
  }
  const error = parsed?.error;
  if (!error) {
    const text = bodyText.trim().slice(0, 300);
    return new ApiError(status, `HTTP_${status}`, text || `The server answered HTTP ${status}.`);
  }
  const violations: FieldViolation[] = [];
  for (const detail of error.details ?? []) {
    for (const v of detail.fieldViolations ?? []) {
      violations.push({ field: v.field ?? '', description: v.description ?? '' });
    }
  }
  return new ApiError(status, error.status ?? `HTTP_${status}`, error.message ?? `HTTP ${status}`, violations);
}

/** Seconds to wait before retrying, from a Retry-After header (seconds or a date). */
export function retryAfterMs(header: string | null, attempt: number, now = Date.now()): number {
  const fallback = Math.min(8000, 500 * 2 ** attempt);
  if (!header) return fallback;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.min(30_000, Math.max(0, seconds * 1000));
  const date = Date.parse(header);
  if (Number.isFinite(date)) return Math.min(30_000, Math.max(0, date - now));
  return fallback;
}

/** Query parameters; arrays repeat the parameter, undefined and '' are left out. */
export type Query = Record<string, string | number | boolean | undefined | readonly string[]>;

export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === '') continue;
    if (Array.isArray(value)) for (const v of value as readonly string[]) params.append(name, v);
    else params.append(name, String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Retries after 503 or 429 (default 3 for GET, 0 otherwise). */
  retries?: number;
}

type Fetch = typeof fetch;
type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

const sleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    });
  });

export interface ClientOptions {
  /** Base URL of the server; '' for the page's own origin. */
  baseUrl?: string;
  fetch?: Fetch;
  sleep?: Sleep;
  /** Called on every 401: the key is unknown or was revoked. */
  onUnauthenticated?: (error: ApiError) => void;
}

export class Client {
  private readonly key: string;
  private readonly baseUrl: string;
  private readonly fetchImpl: Fetch;
  private readonly sleep: Sleep;
  private readonly onUnauthenticated: ((error: ApiError) => void) | undefined;

  constructor(key: string, options: ClientOptions = {}) {
    this.key = key;
    this.baseUrl = options.baseUrl ?? '';
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.sleep = options.sleep ?? sleep;
    this.onUnauthenticated = options.onUnauthenticated;
  }

  private headers(extra?: Record<string, string>): Record<string, string> {
    return { Authorization: `Bearer ${this.key}`, ...extra };
  }

  /** A fetch with the key, retries of 503/429, and errors as ApiError. */
  async raw(method: string, path: string, init: { body?: string; accept?: string } & RequestOptions = {}): Promise<Response> {
    const retries = init.retries ?? (method === 'GET' ? 3 : 0);
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        const headers = this.headers(init.accept ? { Accept: init.accept } : {});
        if (init.body !== undefined) headers['Content-Type'] = 'application/json';
        response = await this.fetchImpl(this.baseUrl + path, {
          method,
          headers,
          body: init.body,
          signal: init.signal,
          cache: 'no-store',
        });
      } catch (e) {
        if (init.signal?.aborted) throw e;
        if (attempt < retries) {
          await this.sleep(retryAfterMs(null, attempt), init.signal);
          continue;
        }
        throw new ApiError(0, 'UNAVAILABLE', NETWORK_MESSAGE);
      }
      if (response.ok) return response;
      if ((response.status === 503 || response.status === 429) && attempt < retries) {
        await response.body?.cancel();
        await this.sleep(retryAfterMs(response.headers.get('Retry-After'), attempt), init.signal);
        continue;
      }
      const error = errorFromBody(response.status, await response.text());
      if (response.status === 401) this.onUnauthenticated?.(error);
      throw error;
    }
  }

  async get<T>(path: string, query?: Query, options: RequestOptions = {}): Promise<T> {
    const response = await this.raw('GET', path + queryString(query), options);
    return (await response.json()) as T;
  }

  async post<T>(path: string, body: unknown = {}, options: RequestOptions = {}): Promise<T> {
    // Rate-limited requests (429) were refused before doing anything: safe to retry.
    const response = await this.raw('POST', path, { ...options, body: JSON.stringify(body), retries: options.retries ?? 2 });
    return (await response.json()) as T;
  }

  async delete<T>(path: string, options: RequestOptions = {}): Promise<T> {
    // A refused (429) delete did nothing; a repeated one answers 404.
    const response = await this.raw('DELETE', path, { ...options, retries: options.retries ?? 2 });
    return (await response.json()) as T;
  }

  /**
   * Follows a server-sent-events stream (e.g. `GET /v1/jobs/{id}:watch`),
   * calling `onEvent` with each event's JSON. Resolves when the server ends
   * the stream; rejects with an ApiError on an error answer or an `error`
   * event (the gateway's way of saying the stream broke).
   */
  async stream<T>(path: string, onEvent: (event: T) => void, signal: AbortSignal): Promise<void> {
    const response = await this.raw('GET', path, { signal, accept: 'text/event-stream', retries: 0 });
    const body = response.body;
    if (!body) return;
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        for (const { event, data } of parser.push(value)) {
          if (event === 'error') throw errorFromBody(503, data);
          let parsed: T;
          try {
            parsed = JSON.parse(data) as T;
          } catch {
            // A malformed event is skipped; the next snapshot supersedes it.
            continue;
          }
          onEvent(parsed);
        }
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
  }

  /** Downloads a file with the key and hands it to the browser as a download. */
  async download(path: string, fileName: string): Promise<void> {
    const response = await this.raw('GET', path, { retries: 3 });
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    try {
      const a = document.createElement('a');
      a.href = url;
      a.download = fileName;
      a.rel = 'noopener';
      document.body.appendChild(a);
      a.click();
      a.remove();
    } finally {
      // The click has started the download; give the browser a moment to take the blob.
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    }
  }

  /**
   * Uploads a file as the raw request body, streamed from disk by the
   * browser (XMLHttpRequest.send(file) does not read it into memory), with
   * byte progress. Resolves with the JSON answer.
   */
  upload<T>(
    path: string,
    file: Blob,
    onProgress: (sent: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', this.baseUrl + path);
      xhr.setRequestHeader('Authorization', `Bearer ${this.key}`);
      if (!file.type || file.type === 'application/json') xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          try {
            resolve(JSON.parse(xhr.responseText) as T);
          } catch {
            reject(new ApiError(xhr.status, 'INTERNAL', 'The server answered the upload with something that is not JSON.'));
          }
          return;
        }
        const error = errorFromBody(xhr.status, xhr.responseText);
        if (xhr.status === 401) this.onUnauthenticated?.(error);
        reject(error);
      };
      xhr.onerror = () => reject(new ApiError(0, 'UNAVAILABLE', NETWORK_MESSAGE));
      xhr.onabort = () => reject(new ApiError(0, 'CANCELLED', 'The upload was stopped.'));
      signal?.addEventListener('abort', () => xhr.abort());
      xhr.send(file);
    });
  }
}
