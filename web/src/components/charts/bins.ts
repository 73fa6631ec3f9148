/** Equal-width histogram bins of values computed in the browser (the analyses' own bins come from the server). */

/** Counts of `values` in `bins` equal-width bins over their finite range. */
export function binCounts(values: ArrayLike<number>, bins = 20): { counts: number[]; min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (Number.isFinite(v)) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
  }
  const counts = new Array<number>(bins).fill(0);
  if (!(min <= max)) return { counts, min: 0, max: 0 };
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) continue;
    const b = max > min ? Math.min(bins - 1, Math.floor(((v - min) / (max - min)) * bins)) : 0;
    counts[b] = (counts[b] ?? 0) + 1;
  }
  return { counts, min, max };
}
