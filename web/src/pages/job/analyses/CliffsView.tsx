/**
 * Activity cliffs (from the mmp analysis): the SALI plot (similarity against
 * |ΔpActivity|, coloured by SALI) and the cliffs, largest SALI first, as
 * pairs side by side with ΔpActivity, the similarity measures and SALI.
 */
import { useCallback, useMemo, useState } from 'react';
import type { Analysis } from '../../../api/types';
import { Pager } from '../../../components/Pager';
import { ScatterPlot } from '../../../components/charts/ScatterPlot';
import { count, fixed } from '../../../lib/format';
import { useMolecules } from './Molecules';
import { PairRow } from './PairRow';

const PAGE = 10;

export function CliffsView({ jobId, analysis }: { jobId: string; analysis: Analysis }) {
  const mmp = analysis.mmp ?? {};
  const cliffs = useMemo(() => mmp.cliffs ?? [], [mmp.cliffs]);
  const [page, setPage] = useState(0);
  const [hover, setHover] = useState<{ index: number; x: number; y: number } | null>(null);
  const pages = Math.max(1, Math.ceil(cliffs.length / PAGE));
  const shown = cliffs.slice(page * PAGE, (page + 1) * PAGE);
  const depictions = useMolecules(jobId, [...new Set(shown.flatMap((c) => [Number(c.a), Number(c.b)]))]);
  // The plot's points are the cliffs (ids: their rank).
  const plot = useMemo(
    () => ({
      ids: Int32Array.from(cliffs, (_, i) => i),
      x: Float64Array.from(cliffs, (c) => Number(c.tanimoto)),
      y: Float64Array.from(cliffs, (c) => Math.abs(Number(c.deltaPActivity))),
      // SALI spans orders of magnitude: coloured on a log scale.
      color: Float64Array.from(cliffs, (c) => Math.log10(Number(c.sali))),
    }),
    [cliffs],
  );
  const onHover = useCallback((hit: { index: number; x: number; y: number } | null) => setHover((old) => (hit?.index === old?.index ? old : hit)), []);
  const hovered = hover ? cliffs[hover.index] : undefined;

  if (!mmp.activityColumn) return <p className="notice">This job has no activity column, so it has no activity cliffs. Upload the batch with an activity column to see them.</p>;
  return (
    <>
      <p className="hint">
        {count(cliffs.length)} cliffs on <strong>{mmp.activityColumn}</strong>: similar molecules whose pActivity differs a lot. SALI = |ΔpActivity| / (1 − Tanimoto).
      </p>
      <h3>SALI plot</h3>
      <div className="plot-box">
        <ScatterPlot data={plot} label="SALI plot: Tanimoto similarity against |ΔpActivity| of each cliff" xName="Tanimoto similarity" yName="|ΔpActivity| (log units)" colorName="log10 SALI" height={400} onHover={onHover} />
        {hover && hovered && (
          <div className="hover-card" role="status" style={{ left: `${hover.x + 16}px`, top: `${hover.y + 20}px` }}>
            <p>
              Cliff {hover.index + 1}: #{hovered.a} → #{hovered.b}
              <br />
              ΔpActivity {fixed(hovered.deltaPActivity)}, Tanimoto {fixed(hovered.tanimoto, 3)}, SALI {fixed(hovered.sali, 1)}
            </p>
          </div>
        )}
      </div>
      <div className="section-head">
        <h3>Cliffs, largest SALI first</h3>
        <Pager
          canPrevious={page > 0}
          canNext={page + 1 < pages}
          onPrevious={() => setPage(page - 1)}
          onNext={() => setPage(page + 1)}
          text={`Page ${page + 1} of ${pages}`}
          label="Cliff pages"
        />
      </div>
      <ol className="pairs" aria-label="Activity cliffs">
        {shown.map((c, i) => (
          <PairRow key={`${c.a}-${c.b}`} jobId={jobId} a={Number(c.a)} b={Number(c.b)} depictions={depictions} label={`Cliff ${page * PAGE + i + 1}`}>
            <span>
              <strong>ΔpActivity {fixed(c.deltaPActivity)}</strong>
            </span>
            <span>SALI {fixed(c.sali, 1)}</span>
            <span>Tanimoto {fixed(c.tanimoto, 3)}</span>
            <span>Scaffold Tanimoto {fixed(c.scaffoldTanimoto, 3)}</span>
            <span>SMILES similarity {fixed(c.levenshtein, 3)}</span>
            <span>{c.matchedPair ? 'A matched pair' : 'Not a matched pair'}</span>
          </PairRow>
        ))}
      </ol>
    </>
  );
}
