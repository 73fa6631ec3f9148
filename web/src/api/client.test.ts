import { describe, expect, it } from 'vitest';
import { ApiError, Client, errorFromBody, queryString, retryAfterMs } from './client';

function response(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers });
}

const BAD_FILE = {
  error: {
    code: 400,
    status: 'INVALID_ARGUMENT',
    message: 'file: line 3: CSV row has 3 fields, header has 2',
    details: [
      {
        '@type': 'type.googleapis.com/google.rpc.BadRequest',
        fieldViolations: [{ field: 'file', description: 'line 3: CSV row has 3 fields, header has 2' }],
      },
    ],
  },
};

describe('errors', () => {
  it('keeps the message and every field violation as the server words them', () => {
    const e = errorFromBody(400, JSON.stringify(BAD_FILE));
    expect(e.status).toBe(400);
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe('file: line 3: CSV row has 3 fields, header has 2');
    expect(e.violations).toEqual([{ field: 'file', description: 'line 3: CSV row has 3 fields, header has 2' }]);
  });

  it('falls back to the text of a non-JSON body', () => {
    expect(errorFromBody(502, 'Bad Gateway').message).toBe('Bad Gateway');
    expect(errorFromBody(500, '').message).toBe('The server answered HTTP 500.');
  });
});

describe('retries', () => {
  it('reads Retry-After as seconds or a date, capped', () => {
    expect(retryAfterMs('2', 0)).toBe(2000);
    expect(retryAfterMs('600', 0)).toBe(30000);
    expect(retryAfterMs('Thu, 01 Jan 1970 00:00:05 GMT', 0, 1000)).toBe(4000);
    expect(retryAfterMs(null, 2)).toBe(2000);
  });

  it('retries a GET after 503 and 429, waiting as told', async () => {
    const answers = [response(503, '', { 'Retry-After': '1' }), response(429, BAD_FILE, { 'Retry-After': '0' }), response(200, { ok: 1 })];
    const waits: number[] = [];
    const seen: RequestInit[] = [];
    const client = new Client('mbk_key', {
      fetch: (_url, init) => {
        seen.push(init ?? {});
        return Promise.resolve(answers.shift() as Response);
      },
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    });
    expect(await client.get('/v1/jobs')).toEqual({ ok: 1 });
    expect(waits).toEqual([1000, 0]);
    expect((seen[0]?.headers as Record<string, string>).Authorization).toBe('Bearer mbk_key');
  });

  it('gives up after its retries with the last error', async () => {
    const client = new Client('k', {
      fetch: () => Promise.resolve(response(503, { error: { code: 503, status: 'UNAVAILABLE', message: 'storage is down' } })),
      sleep: () => Promise.resolve(),
    });
    await expect(client.get('/v1/jobs')).rejects.toMatchObject({ status: 503, message: 'storage is down' });
  });

  it('turns a network failure into a clear message', async () => {
    const client = new Client('k', { fetch: () => Promise.reject(new TypeError('Failed to fetch')), sleep: () => Promise.resolve() });
    const error = await client.get('/v1/jobs').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(0);
    expect((error as ApiError).message).toMatch(/Cannot reach the molbatch server/);
  });

  it('reports a 401 to the session', async () => {
    let told = '';
    const client = new Client('k', {
      fetch: () => Promise.resolve(response(401, { error: { code: 401, status: 'UNAUTHENTICATED', message: 'unknown API key' } })),
      onUnauthenticated: (e) => (told = e.message),
    });
    await expect(client.get('/v1/whoami')).rejects.toMatchObject({ status: 401 });
    expect(told).toBe('unknown API key');
  });
});

describe('streams', () => {
  it('hands each SSE event of a watch to the caller', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        const enc = new TextEncoder();
        c.enqueue(enc.encode('event: JobEvent\ndata: {"job":{"state":"JOB_STATE_RUN'));
        c.enqueue(enc.encode('NING"}}\n\ndata: {"job":{"state":"JOB_STATE_COMPLETED"}}\n\n'));
        c.close();
      },
    });
    const client = new Client('k', { fetch: () => Promise.resolve(new Response(body, { status: 200 })) });
    const states: string[] = [];
    await client.stream<{ job: { state: string } }>('/v1/jobs/x:watch', (e) => states.push(e.job.state), new AbortController().signal);
    expect(states).toEqual(['JOB_STATE_RUNNING', 'JOB_STATE_COMPLETED']);
  });

  it('fails on an error event with the server\'s message', async () => {
    const body = new Response('event: error\ndata: {"error":{"code":503,"status":"UNAVAILABLE","message":"scheduler away"}}\n\n').body;
    const client = new Client('k', { fetch: () => Promise.resolve(new Response(body, { status: 200 })) });
    await expect(client.stream('/v1/jobs/x:watch', () => undefined, new AbortController().signal)).rejects.toMatchObject({ message: 'scheduler away' });
  });
});

describe('queryString', () => {
  it('repeats arrays and leaves out empty values', () => {
    expect(queryString({ pageSize: 50, pageToken: '', filter: undefined, activityColumns: ['{"column":"a b"}', 'x'] })).toBe(
      '?pageSize=50&activityColumns=%7B%22column%22%3A%22a+b%22%7D&activityColumns=x',
    );
    expect(queryString({})).toBe('');
  });
});
