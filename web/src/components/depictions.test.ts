import { describe, expect, it } from 'vitest';
import { batchRequest, depictionKey } from './depictions';

describe('depictions of a job molecule', () => {
  it('ask BatchDepict for highlighted atoms only where a drawing has some', () => {
    const size = { width: 200, height: 150 };
    expect(batchRequest('j', [{ index: 4 }, { index: 9, highlightAtoms: [5, 3, 4] }, { index: 2, highlightAtoms: [] }], size)).toEqual({
      requests: [
        { jobId: 'j', index: 4, width: 200, height: 150 },
        { jobId: 'j', index: 9, width: 200, height: 150, highlightAtoms: [5, 3, 4] },
        { jobId: 'j', index: 2, width: 200, height: 150 },
      ],
    });
  });

  it('cache a drawing apart from the same molecule plain, with an alert, or with other atoms', () => {
    const size = { width: 200, height: 150 };
    const keys = [depictionKey('j', 1, size), depictionKey('j', 1, size, 'PAINS:x'), depictionKey('j', 1, size, '', [1, 2]), depictionKey('j', 1, size, '', [1, 2, 3])];
    expect(new Set(keys).size).toBe(keys.length);
    expect(depictionKey('j', 1, size, '', [])).toBe(depictionKey('j', 1, size));
  });
});
