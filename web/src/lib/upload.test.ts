import { describe, expect, it } from 'vitest';
import { uploadQuery } from './upload';

describe('uploadQuery', () => {
  it('sends each activity column as its message in JSON, repeated', () => {
    const q = new URLSearchParams(
      uploadQuery({
        format: 'csv',
        displayName: 'chembl.csv',
        smilesColumn: 'smiles',
        idColumn: '',
        priority: 3,
        activities: [
          { column: 'exp_mean [nM]', unit: 'nM' },
          { column: 'pKi', unit: 'p' },
        ],
      }),
    );
    expect(q.get('format')).toBe('csv');
    expect(q.get('smilesColumn')).toBe('smiles');
    expect(q.has('idColumn')).toBe(false);
    expect(q.get('priority')).toBe('3');
    expect(q.getAll('activityColumns').map((a) => JSON.parse(a) as unknown)).toEqual([
      { column: 'exp_mean [nM]', unit: 'nM' },
      { column: 'pKi', unit: 'p' },
    ]);
  });

  it('asks the server to skip bad records only when ticked', () => {
    const base = { format: 'csv' as const, displayName: 'a.csv', smilesColumn: 'smiles', idColumn: '', priority: 0, activities: [] };
    expect(new URLSearchParams(uploadQuery({ ...base, skipBadRecords: true })).get('onBadRecord')).toBe('skip');
    expect(uploadQuery({ ...base, skipBadRecords: false })).not.toContain('onBadRecord');
  });

  it('leaves out what a SMILES file has no use for', () => {
    const q = uploadQuery({ format: 'smiles', displayName: 'a.smi', smilesColumn: 'x', idColumn: 'y', priority: 0, activities: [{ column: 'v', unit: 'nM' }] });
    expect(q).toBe('format=smiles&displayName=a.smi');
  });
});
