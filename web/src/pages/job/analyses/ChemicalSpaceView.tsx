/**
 * The chemical-space map: each valid molecule at its first two PCA
 * coordinates, coloured by a descriptor or activity (per-molecule values from
 * `GET /v1/jobs/{id}/values`), zoom and pan, the structure on hover, and a
 * box or lasso selection exported as a CSV of indices and ids.
 */
import { useCallback, useId, useMemo, useState } from 'react';
import type { Analysis } from '../../../api/types';
import { useSession } from '../../../app/session';
import { alignValues } from '../../../components/charts/bands';
import { ScatterPlot } from '../../../components/charts/ScatterPlot';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { count, fixed } from '../../../lib/format';
import { inputIds, useActivityNames, useValues } from './api';
import { ColorSelect, colourFields } from './ColorSelect';
import { HoverCard } from './HoverCard';
import { downloadCsv } from './csv';

export function ChemicalSpaceView({ jobId, analysis }: { jobId: string; analysis: Analysis }) {
  const { client } = useSession();
  const space = analysis.chemicalSpace;
  const activities = useActivityNames(jobId);
  const [colorField, setColorField] = useState('');
  const { values, error: valuesError, loading } = useValues(jobId, colorField ? [colorField] : null);
  const [hover, setHover] = useState<{ index: number; x: number; y: number } | null>(null);
  const [selected, setSelected] = useState<number[]>([]);
  const [exportError, setExportError] = useState<unknown>(null);
  const [exporting, setExporting] = useState(false);
  const selectId = useId();

  const points = useMemo(() => {
    const list = space?.points ?? [];
    const ids = new Int32Array(list.length);
    const x = new Float64Array(list.length);
    const y = new Float64Array(list.length);
    list.forEach((p, i) => {
      ids[i] = Number(p.index ?? 0);
      x[i] = Number(p.coordinates?.[0] ?? NaN);
      y[i] = Number(p.coordinates?.[1] ?? NaN);
    });
    return { ids, x, y };
  }, [space]);
  const column = values?.columns.get(colorField);
  const data = useMemo(
    () => (column && values ? { ...points, color: alignValues(points.ids, values.indices, column) } : points),
    [points, column, values],
  );
  const colorValue = useMemo(() => {
    if (!hover || !column || !values) return null;
    const at = values.indices.indexOf(hover.index);
    return at < 0 ? null : column[at];
  }, [hover, column, values]);

  const onHover = useCallback((hit: { index: number; x: number; y: number } | null) => {
    setHover((old) => (hit === null ? null : old?.index === hit.index ? old : hit));
  }, []);

  const ratio = space?.explainedVarianceRatio ?? [];
  const axis = (k: number) => `PC${k + 1}${ratio[k] !== undefined ? ` (${fixed(Number(ratio[k]) * 100, 1)}% of variance)` : ''}`;
  const fields = colourFields(activities ?? []);
  const colorLabel = fields.find((f) => f.field === colorField)?.label;

  async function exportSelection() {
    setExportError(null);
    setExporting(true);
    try {
      const ids = await inputIds(client, jobId, selected);
      downloadCsv(`${jobId}-selection.csv`, ['index', 'id'], selected.map((i) => [String(i), ids.get(i) ?? '']));
    } catch (e) {
      setExportError(e);
    } finally {
      setExporting(false);
    }
  }

  return (
    <div>
      <p className="hint">
        {space?.method?.toUpperCase() ?? 'PCA'} of {space?.features ?? 'fingerprints'}, {count(points.ids.length)} valid molecules. Scroll to zoom, drag to pan; hover a point for its
        structure.
      </p>
      <div className="toolbar">
        <ColorSelect id={selectId} fields={fields} value={colorField} onChange={setColorField} />
        {loading && <span aria-busy="true">Loading values…</span>}
      </div>
      <ErrorMessage error={valuesError} title="The colours could not be loaded" />
      <div className="plot-box">
        <ScatterPlot data={data} label="Chemical space: PC1 against PC2" xName={axis(0)} yName={axis(1)} colorName={colorLabel} onHover={onHover} onSelect={setSelected} />
        {hover && (
          <HoverCard jobId={jobId} index={hover.index} x={hover.x} y={hover.y + 40}>
            {colorLabel && colorValue !== null && (
              <>
                {colorLabel}: {Number.isFinite(colorValue) ? fixed(colorValue, 2) : 'no value'}
              </>
            )}
          </HoverCard>
        )}
      </div>
      <div className="toolbar" aria-live="polite">
        <span>{selected.length > 0 ? `${count(selected.length)} molecules selected` : 'Nothing selected: choose Box select or Lasso select, then drag over the points.'}</span>
        {selected.length > 0 && (
          <button type="button" onClick={() => void exportSelection()} disabled={exporting}>
            {exporting ? 'Preparing…' : 'Export selection (CSV)'}
          </button>
        )}
      </div>
      <ErrorMessage error={exportError} title="The selection was not exported" />
    </div>
  );
}
