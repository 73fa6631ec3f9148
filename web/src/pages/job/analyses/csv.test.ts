import { describe, expect, it } from 'vitest';
import { alignValues } from '../../../components/charts/bands';
import { csvText } from './csv';

describe('csvText', () => {
  it('quotes cells with commas, quotes and line breaks', () => {
    expect(csvText(['index', 'id'], [['1', 'a,b'], ['2', 'say "x"'], ['3', 'plain']])).toBe('index,id\n1,"a,b"\n2,"say ""x"""\n3,plain\n');
  });
});

describe('alignValues', () => {
  it('gives each point the value of its molecule, NaN when it has none', () => {
    expect([...alignValues([4, 2, 9], [2, 4], Float64Array.from([0.2, 0.4]))]).toEqual([0.4, 0.2, NaN]);
  });
});
