import { describe, expect, it } from 'vitest';
import { bands, selectedIds } from './bands';
import { binCounts } from './bins';
import { PLAIN, VIRIDIS } from './palette';

describe('bands', () => {
  it('puts every placeable point in one plain band without a colour', () => {
    const { bands: out, drawn } = bands({ ids: [5, 6, 7], x: [0, 1, NaN], y: [0, 1, 2] }, undefined);
    expect(drawn).toBe(2);
    expect(out).toHaveLength(1);
    expect(out[0]?.color).toBe(PLAIN);
    expect([...(out[0]?.ids ?? [])]).toEqual([5, 6]);
    expect([...(out[0]?.points ?? [])]).toEqual([0, 0, 1, 1]);
  });

  it('splits by colour into eight equal-width bands and a no-value band', () => {
    const ids = [0, 1, 2, 3];
    const { bands: out, drawn } = bands({ ids, x: [0, 0, 0, 0], y: [0, 0, 0, 0], color: [0, 8, 3.9, NaN] }, 'QED');
    expect(drawn).toBe(4);
    // Empty bands are left out.
    expect(out.map((b) => [b.name, b.color, [...b.ids]])).toEqual([
      ['0.000 – 1.00', VIRIDIS[0], [0]],
      ['3.00 – 4.00', VIRIDIS[3], [2]],
      ['7.00 – 8.00', VIRIDIS[7], [1]],
      ['no QED', '#9aa3ad', [3]],
    ]);
  });
});

describe('binCounts', () => {
  it('counts finite values into equal-width bins, the maximum in the last', () => {
    const { counts, min, max } = binCounts([0, 0.2, 1, 2, NaN], 4);
    expect([min, max]).toEqual([0, 2]);
    expect(counts).toEqual([2, 0, 1, 1]);
  });
});

describe('selectedIds', () => {
  const { bands: series } = bands({ ids: [10, 11, 12, 13], x: [0, 1, 2, 3], y: [0, 1, 2, 3], color: [1, 2, 1, 2] }, 'c');
  it('picks the points inside a box, ascending, across colour bands', () => {
    expect(selectedIds(series, [{ brushType: 'rect', coordRange: [[0.5, 2.5], [3, 0.5]] }])).toEqual([11, 12]);
  });
  it('picks the points inside a lasso', () => {
    expect(selectedIds(series, [{ brushType: 'polygon', coordRange: [[-1, -1], [1.5, -1], [1.5, 1.5], [-1, 1.5]] }])).toEqual([10, 11]);
  });
});
