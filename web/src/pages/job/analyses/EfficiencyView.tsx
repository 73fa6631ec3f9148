/**
 * The efficiency plane of an activity: SEI against BEI, and LE against heavy
 * atoms, each molecule coloured by its pActivity, from the per-molecule
 * values (`GET /v1/jobs/{id}/values`); the structure on hover.
 */
import { useCallback, useId, useMemo, useState } from 'react';
import { ScatterPlot, type ScatterData } from '../../../components/charts/ScatterPlot';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { useActivityNames, useValues } from './api';
import { HoverCard } from './HoverCard';

export function EfficiencyView({ jobId }: { jobId: string }) {
  const names = useActivityNames(jobId);
  const [chosen, setChosen] = useState('');
  const activity = chosen || names?.[0] || '';
  const fields = activity ? ['sei', 'bei', 'le', 'pActivity'].map((m) => `activities.${activity}.${m}`).concat('heavyAtoms') : null;
  const { values, error, loading } = useValues(jobId, fields);
  const selectId = useId();

  const planes = useMemo(() => {
    if (!values) return null;
    const col = (f: string) => values.columns.get(f) ?? new Float64Array(values.indices.length).fill(NaN);
    const p = col(`activities.${activity}.pActivity`);
    const ids = Int32Array.from(values.indices);
    return {
      sei: { ids, x: col(`activities.${activity}.sei`), y: col(`activities.${activity}.bei`), color: p },
      le: { ids, x: col('heavyAtoms'), y: col(`activities.${activity}.le`), color: p },
    };
  }, [values, activity]);

  if (names === null) return <p aria-busy="true">Loading the activities…</p>;
  if (names.length === 0) return <p className="notice">This job has no activity column: upload the batch with one (and its unit) to see the efficiency plane.</p>;
  return (
    <section aria-labelledby="efficiency-heading">
      <h2 id="efficiency-heading" className="h3">
        Efficiency plane
      </h2>
      <p className="hint">
        SEI = pActivity / (TPSA / 100 Å²), BEI = pActivity / (MW in kDa) (Abad-Zapatero &amp; Metz 2005); LE = 1.37 · pActivity / heavy atoms. Colour: pActivity.
      </p>
      {names.length > 1 && (
        <div className="toolbar">
          <label htmlFor={selectId}>Activity</label>
          <select id={selectId} value={activity} onChange={(e) => setChosen(e.target.value)}>
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
      )}
      <ErrorMessage error={error} title="The efficiency values could not be loaded" />
      {loading && <p aria-busy="true">Loading values…</p>}
      {planes && (
        <div className="plots-2">
          <Plane jobId={jobId} data={planes.sei} label={`SEI against BEI (${activity})`} xName="SEI (pActivity per 100 Å² TPSA)" yName="BEI (pActivity per kDa)" />
          <Plane jobId={jobId} data={planes.le} label={`LE against heavy atoms (${activity})`} xName="heavy atoms" yName="LE (kcal/mol per heavy atom)" />
        </div>
      )}
    </section>
  );
}

function Plane({ jobId, data, label, xName, yName }: { jobId: string; data: ScatterData; label: string; xName: string; yName: string }) {
  const [hover, setHover] = useState<{ index: number; x: number; y: number } | null>(null);
  const onHover = useCallback((hit: { index: number; x: number; y: number } | null) => setHover((old) => (hit?.index === old?.index ? old : hit)), []);
  return (
    <div className="plot-box">
      <h3>{label}</h3>
      <ScatterPlot data={data} label={label} xName={xName} yName={yName} colorName="pActivity" height={440} onHover={onHover} />
      {hover && <HoverCard jobId={jobId} index={hover.index} x={hover.x} y={hover.y + 80} />}
    </div>
  );
}
