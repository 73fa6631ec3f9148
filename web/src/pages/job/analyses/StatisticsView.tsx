/**
 * The statistics analysis: the quality score, a histogram per descriptor and
 * numeric column (the analysis's own 20 bins over [min, max]) with its
 * summary, the correlation heatmap, and the outliers and anomalies as
 * structures.
 */
import { useState } from 'react';
import type { Analysis } from '../../../api/types';
import { Heatmap } from '../../../components/charts/Heatmap';
import { Histogram } from '../../../components/charts/Histogram';
import { count, fixed } from '../../../lib/format';
import { MoleculeGrid } from './Molecules';

type Outlier = NonNullable<NonNullable<Analysis['statistics']>['anomalies']>[number];

/** Outliers shown at once. */
const SHOWN = 24;

export function StatisticsView({ jobId, analysis }: { jobId: string; analysis: Analysis }) {
  const s = analysis.statistics ?? {};
  const q = s.quality;
  const columns = s.columns ?? [];
  return (
    <>
      {q && (
        <dl className="stats">
          <div>
            <dt>Quality score</dt>
            <dd>{fixed(q.score, 1)} / 100</dd>
          </div>
          <div>
            <dt>Validity</dt>
            <dd>{fixed(q.validityPercent, 1)}%</dd>
          </div>
          <div>
            <dt>Diversity</dt>
            <dd>{fixed(q.diversityPercent, 1)}%</dd>
          </div>
          <div>
            <dt>Drug-likeness</dt>
            <dd>{fixed(q.drugLikenessPercent, 1)}%</dd>
          </div>
        </dl>
      )}
      <h3>Distributions</h3>
      <ul className="histograms" aria-label="Distributions">
        {columns.map((c) => (
          <li key={c.column} className="panel">
            <h4>{c.column}</h4>
            {c.histogram?.length ? (
              <Histogram counts={c.histogram.map(Number)} min={Number(c.min)} max={Number(c.max)} label={`Distribution of ${c.column}`} xName={c.column ?? ''} />
            ) : (
              <p className="hint">No histogram in this result (run statistics again).</p>
            )}
            <p className="hint">
              n {count(c.count)}, missing {count(c.missing)}; mean {fixed(c.mean)}, median {fixed(c.median)}, sd {fixed(c.std)}; range {fixed(c.min)} to {fixed(c.max)}
            </p>
          </li>
        ))}
      </ul>
      {(s.correlationColumns?.length ?? 0) > 1 && (
        <>
          <h3>Correlations</h3>
          <p className="hint">Pearson r between every pair of columns (pairwise complete observations); hover a cell for its value.</p>
          <Heatmap names={s.correlationColumns ?? []} values={(s.correlation ?? []).map(Number)} label="Correlation matrix of the descriptors and numeric columns" />
        </>
      )}
      <Flagged jobId={jobId} title="Anomalies" note="Robust z-score beyond 3.5, largest first." items={s.anomalies ?? []} score="z" />
      <Flagged jobId={jobId} title="Outliers" note="Values outside the 1.5 × IQR fences, furthest first (distance in IQRs)." items={s.iqrOutliers ?? []} score="IQRs" />
    </>
  );
}

/** Flagged values as structures, furthest first, with the column and value. */
function Flagged({ jobId, title, note, items, score }: { jobId: string; title: string; note: string; items: Outlier[]; score: string }) {
  const [shown, setShown] = useState(SHOWN);
  const sorted = [...items].sort((a, b) => Math.abs(Number(b.score)) - Math.abs(Number(a.score)));
  const page = sorted.slice(0, shown);
  const byIndex = new Map<number, Outlier[]>();
  for (const o of page) byIndex.set(Number(o.index), [...(byIndex.get(Number(o.index)) ?? []), o]);
  return (
    <section aria-label={title}>
      <h3>
        {title} <span className="hint">({count(items.length)})</span>
      </h3>
      <p className="hint">{note}</p>
      {items.length === 0 ? (
        <p className="empty">None.</p>
      ) : (
        <>
          <MoleculeGrid
            jobId={jobId}
            label={title}
            indexes={[...byIndex.keys()]}
            caption={(i) =>
              byIndex.get(i)?.map((o, k) => (
                <span key={k} className="caption-line">
                  {o.column} = {fixed(o.value)} ({Number.isFinite(Number(o.score)) ? fixed(o.score, 1) : '∞'} {score})
                </span>
              ))
            }
          />
          {shown < sorted.length && (
            <button type="button" onClick={() => setShown((n) => n + SHOWN)}>
              Show more {title.toLowerCase()}
            </button>
          )}
        </>
      )}
    </section>
  );
}
