import { describe, expect, it } from 'vitest';
import { firstPage, nextPage, pageNumber, previousPage } from './tokens';

describe('page token stack', () => {
  it('goes forward and back through the pages it has seen', () => {
    const a = nextPage(firstPage, 't1');
    const b = nextPage(a, 't2');
    expect(pageNumber(b)).toBe(3);
    expect(b.current).toBe('t2');
    const back = previousPage(b);
    expect(back).toEqual(a);
    expect(previousPage(back)).toEqual(firstPage);
    expect(previousPage(firstPage)).toBe(firstPage);
  });
});
