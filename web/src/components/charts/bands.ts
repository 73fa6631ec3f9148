/**
 * Scatter points split into colour bands: ECharts draws a large series in
 * one colour, so a coloured plot of many points is one series per band.
 */
import { contain as polygonContains } from 'zrender/lib/contain/polygon.js';
import { PLAIN, VIRIDIS } from './palette';

export interface ScatterData {
  /** Molecule index of each point. */
  ids: ArrayLike<number>;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** A value per point that colours it (NaN: none); absent for one colour. */
  color?: ArrayLike<number>;
}

/** Points with a finite x and y are drawn; the rest cannot be placed. */
function finite(v: number | undefined): v is number {
  return v !== undefined && Number.isFinite(v);
}

export interface Band {
  name: string;
  color: string;
  /** x0, y0, x1, y1, … */
  points: Float64Array;
  /** The molecule index of each point. */
  ids: Int32Array;
}

/** Splits the points into colour bands (equal width over the colour's range) and a "no value" band. */
export function bands(data: ScatterData, colorName: string | undefined): { bands: Band[]; drawn: number } {
  const n = data.ids.length;
  const color = data.color;
  let lo = Infinity;
  let hi = -Infinity;
  if (color) {
    for (let i = 0; i < n; i++) {
      const c = color[i];
      if (finite(c)) {
        if (c < lo) lo = c;
        if (c > hi) hi = c;
      }
    }
  }
  const k = color && lo <= hi ? VIRIDIS.length : 1;
  const bandOf = new Int8Array(n);
  const sizes = new Int32Array(k + 1);
  let drawn = 0;
  for (let i = 0; i < n; i++) {
    if (!finite(data.x[i]) || !finite(data.y[i])) {
      bandOf[i] = -1;
      continue;
    }
    drawn++;
    let b = 0;
    if (k > 1 && color) {
      const c = color[i];
      b = finite(c) ? (hi > lo ? Math.min(k - 1, Math.floor(((c - lo) / (hi - lo)) * k)) : 0) : k;
    }
    bandOf[i] = b;
    sizes[b] = (sizes[b] ?? 0) + 1;
  }
  const out: Band[] = [];
  for (let b = 0; b <= k; b++) {
    const size = sizes[b] ?? 0;
    const noValue = b === k;
    if (noValue && !(k > 1)) continue;
    const from = lo + ((hi - lo) * b) / k;
    const to = lo + ((hi - lo) * (b + 1)) / k;
    out.push({
      name: k === 1 ? 'molecules' : noValue ? `no ${colorName ?? 'value'}` : `${fmt(from)} – ${fmt(to)}`,
      color: k === 1 ? PLAIN : noValue ? '#9aa3ad' : (VIRIDIS[b] as string),
      points: new Float64Array(size * 2),
      ids: new Int32Array(size),
    });
  }
  const fill = new Int32Array(out.length);
  for (let i = 0; i < n; i++) {
    const b = bandOf[i] as number;
    if (b < 0) continue;
    const band = out[b] as Band;
    const j = fill[b] as number;
    band.points[2 * j] = data.x[i] as number;
    band.points[2 * j + 1] = data.y[i] as number;
    band.ids[j] = data.ids[i] as number;
    fill[b] = j + 1;
  }
  // Empty bands would only crowd the legend.
  return { bands: out.filter((b) => b.ids.length > 0), drawn };
}

function fmt(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 0.01 || a >= 10000) ? v.toExponential(1) : v.toFixed(a < 1 ? 3 : a < 100 ? 2 : 0);
}

/** A value per point, `indices[i]`'s value or NaN, from a values column answered for other indices. */
export function alignValues(pointIds: ArrayLike<number>, indices: number[], values: Float64Array): Float64Array {
  const byIndex = new Map<number, number>();
  indices.forEach((idx, i) => byIndex.set(idx, values[i] as number));
  const out = new Float64Array(pointIds.length);
  for (let i = 0; i < pointIds.length; i++) out[i] = byIndex.get(pointIds[i] as number) ?? NaN;
  return out;
}

/** A brushed area in data coordinates, as ECharts' `brushSelected` gives it. */
export interface BrushArea {
  brushType: string;
  /** rect: [[x0, x1], [y0, y1]]; polygon: [[x, y], …]. */
  coordRange: number[][];
}

/**
 * The molecule indexes of the points inside any of the areas, ascending.
 * Computed here rather than taken from ECharts, whose selection skips
 * series drawn in large mode (they keep no per-point layout).
 */
export function selectedIds(series: Band[], areas: BrushArea[]): number[] {
  const picked: number[] = [];
  for (const band of series) {
    const p = band.points;
    for (let j = 0; j < band.ids.length; j++) {
      const x = p[2 * j] as number;
      const y = p[2 * j + 1] as number;
      if (areas.some((a) => inside(a, x, y))) picked.push(band.ids[j] as number);
    }
  }
  return picked.sort((a, b) => a - b);
}

function inside(area: BrushArea, x: number, y: number): boolean {
  const r = area.coordRange;
  if (area.brushType === 'rect') {
    const [xs, ys] = r;
    return !!xs && !!ys && x >= Math.min(xs[0] ?? 0, xs[1] ?? 0) && x <= Math.max(xs[0] ?? 0, xs[1] ?? 0) && y >= Math.min(ys[0] ?? 0, ys[1] ?? 0) && y <= Math.max(ys[0] ?? 0, ys[1] ?? 0);
  }
  if (area.brushType === 'polygon') return r.length > 2 && polygonContains(r, x, y);
  return false;
}
