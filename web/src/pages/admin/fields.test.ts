import { describe, expect, it } from 'vitest';
import { ApiError, errorFromBody } from '../../api/client';
import { placeViolations, quotasBody, quotaText, SEE_FIELDS } from './fields';

describe('placing the API field violations', () => {
  const body = JSON.stringify({
    error: {
      code: 400,
      status: 'INVALID_ARGUMENT',
      message: 'invalid request',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.BadRequest',
          fieldViolations: [
            { field: 'tenant_id', description: 'not a tenant id' },
            { field: 'quotas.maxConcurrentJobs', description: 'not a whole number' },
            { field: 'page_token', description: 'not a token of this list' },
          ],
        },
      ],
    },
  });

  it('puts each beside the field it names, in proto or JSON spelling, and keeps the rest with the message', () => {
    const { byField, rest } = placeViolations(errorFromBody(400, body), ['tenant_id', 'quotas.max_concurrent_jobs']);
    expect(byField).toEqual({ tenant_id: 'not a tenant id', 'quotas.max_concurrent_jobs': 'not a whole number' });
    expect(rest).toBeInstanceOf(ApiError);
    expect((rest as ApiError).message).toBe('invalid request');
    expect((rest as ApiError).violations).toEqual([{ field: 'page_token', description: 'not a token of this list' }]);
  });

  it('points to the fields when each violation found its field', () => {
    const { byField, rest } = placeViolations(errorFromBody(400, body), ['tenant_id', 'quotas.max_concurrent_jobs', 'page_token']);
    expect(Object.keys(byField)).toHaveLength(3);
    expect((rest as ApiError).message).toBe(SEE_FIELDS);
    expect((rest as ApiError).violations).toEqual([]);
  });

  it('leaves other errors whole, and no error as none', () => {
    const other = new Error('offline');
    expect(placeViolations(other, ['tenant_id'])).toEqual({ byField: {}, rest: other });
    expect(placeViolations(null, ['tenant_id'])).toEqual({ byField: {}, rest: null });
  });
});

describe('quotas as form text', () => {
  it('writes each limit as text and sends what was typed, leaving out the empty ones', () => {
    const text = quotaText({ maxMoleculesPerJob: 1000, burst: 20 });
    expect(text).toEqual({ maxMoleculesPerJob: '1000', maxMoleculesPerDay: '', maxConcurrentJobs: '', requestsPerSecond: '', burst: '20' });
    expect(quotasBody({ ...text, maxConcurrentJobs: ' -3 ', burst: '' })).toEqual({ maxMoleculesPerJob: '1000', maxConcurrentJobs: '-3' });
  });
});
