/** The nearest-neighbours analysis: how isolated the molecules are (1 − similarity to the nearest), and the most isolated ones beside their neighbours. */
import { useMemo, useState } from 'react';
import type { Analysis } from '../../../api/types';
import { binCounts } from '../../../components/charts/bins';
import { Histogram } from '../../../components/charts/Histogram';
import { count, fixed } from '../../../lib/format';
import { MoleculeGrid } from './Molecules';

const SHOWN = 24;

export function NearestNeighborsView({ jobId, analysis }: { jobId: string; analysis: Analysis }) {
  const neighbors = useMemo(() => analysis.nearestNeighbors?.neighbors ?? [], [analysis]);
  const [shown, setShown] = useState(SHOWN);
  const hist = useMemo(() => binCounts(Float64Array.from(neighbors, (n) => Number(n.isolation))), [neighbors]);
  const isolated = useMemo(() => [...neighbors].sort((a, b) => Number(b.isolation) - Number(a.isolation)), [neighbors]);
  const byIndex = new Map(isolated.slice(0, shown).map((n) => [Number(n.index), n]));
  return (
    <>
      <h3>Isolation</h3>
      <p className="hint">1 − Tanimoto similarity of each of {count(neighbors.length)} molecules to its nearest neighbour in the job: 0 for a molecule with a twin, near 1 for a singleton.</p>
      <Histogram counts={hist.counts} min={hist.min} max={hist.max} label="Isolation of the molecules" xName="isolation (1 − similarity)" height={260} />
      <h3>Most isolated molecules</h3>
      <MoleculeGrid
        jobId={jobId}
        label="Most isolated molecules"
        indexes={[...byIndex.keys()]}
        caption={(i) => {
          const n = byIndex.get(i);
          return (
            <>
              isolation {fixed(n?.isolation, 3)}; nearest <a href={`#/jobs/${encodeURIComponent(jobId)}/molecules/${n?.neighbor ?? 0}`}>#{n?.neighbor}</a>
            </>
          );
        }}
      />
      {shown < isolated.length && (
        <button type="button" onClick={() => setShown((k) => k + SHOWN)}>
          Show more molecules
        </button>
      )}
    </>
  );
}
