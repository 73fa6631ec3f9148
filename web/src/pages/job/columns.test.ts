import { describe, expect, it } from 'vitest';
import { activityColumns, activityNames, orderBy } from './columns';

describe('results columns', () => {
  it('writes orderBy as the server reads it', () => {
    expect(orderBy(null)).toBe('');
    expect(orderBy({ field: 'qed', desc: true })).toBe('qed desc');
    expect(orderBy({ field: 'activities.exp_mean [nM].pActivity', desc: false })).toBe('activities.exp_mean [nM].pActivity');
  });

  it('adds pActivity, LE and LLE per activity column', () => {
    const results = [{ activities: [{ column: 'Ki', pActivity: 7.123, le: 0.4, lle: 3 }] }, { activities: [{ column: 'Ki' }, { column: 'IC50', error: 'not a number' }] }];
    expect(activityNames(results)).toEqual(['Ki', 'IC50']);
    const cols = activityColumns(['Ki']);
    expect(cols.map((c) => c.sort)).toEqual(['activities.Ki.pActivity', 'activities.Ki.le', 'activities.Ki.lle']);
    expect(cols[0]?.value(results[0] ?? {})).toBe('7.12');
  });
});
