/**
 * Matched molecular pairs: the transforms with how often they occur and
 * their mean ΔpActivity (sortable), and a chosen transform's pairs as
 * structure pairs. A large job's result holds only the most frequent
 * transforms and the first page of pairs; a transform's pairs then come
 * from the pair pages (`useTransformPairs`).
 */
import { useMemo, useState } from 'react';
import type { Analysis } from '../../../api/types';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Pager } from '../../../components/Pager';
import { count, fixed, num } from '../../../lib/format';
import { mmpTotals, type MmpResult } from './mmp';
import { useMolecules } from './Molecules';
import { PairRow } from './PairRow';
import { useTransformPairs } from './useTransformPairs';

type Transform = NonNullable<MmpResult['transforms']>[number];
type SortKey = 'count' | 'meanDelta';

const PAGE = 25;
const PAIRS = 12;

export function MmpView({ jobId, analysis }: { jobId: string; analysis: Analysis }) {
  const mmp: MmpResult = analysis.mmp ?? {};
  const totals = mmpTotals(mmp);
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'count', desc: true });
  const [page, setPage] = useState(0);
  const [chosen, setChosen] = useState<string | null>(null);
  const [shownPairs, setShownPairs] = useState(PAIRS);
  const transforms = useMemo(() => {
    const value = (t: Transform) => (sort.key === 'count' ? Number(t.count) : t.meanDelta === undefined ? NaN : Number(t.meanDelta));
    // Transforms without a mean Δp go last either way.
    return [...(mmp.transforms ?? [])].sort((x, y) => {
      const a = value(x);
      const b = value(y);
      if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1;
      return sort.desc ? b - a : a - b;
    });
  }, [mmp.transforms, sort]);
  const pages = Math.max(1, Math.ceil(transforms.length / PAGE));
  const expected = chosen ? mmp.transforms?.find((t) => t.transform === chosen)?.count : undefined;
  const found = useTransformPairs(jobId, mmp, chosen, expected === undefined ? undefined : num(expected));
  const pairs = found.pairs;
  const shown = pairs.slice(0, shownPairs);
  const depictions = useMolecules(jobId, [...new Set(shown.flatMap((p) => [Number(p.a), Number(p.b)]))]);

  function header(key: SortKey, label: string) {
    const active = sort.key === key;
    return (
      <th scope="col" className="num" aria-sort={active ? (sort.desc ? 'descending' : 'ascending') : undefined}>
        <button
          type="button"
          className="sort"
          onClick={() => {
            setSort({ key, desc: active ? !sort.desc : true });
            setPage(0);
          }}
        >
          {label} <span className="sort-mark">{active ? (sort.desc ? '▼' : '▲') : '↕'}</span>
        </button>
      </th>
    );
  }

  return (
    <>
      <dl className="stats">
        <div>
          <dt>Molecules fragmented</dt>
          <dd>{count(mmp.molecules)}</dd>
        </div>
        <div>
          <dt>Matched pairs</dt>
          <dd>{count(totals.pairs)}</dd>
        </div>
        <div>
          <dt>Transforms</dt>
          <dd>{count(totals.transforms)}</dd>
        </div>
        <div>
          <dt>Activity</dt>
          <dd>{mmp.activityColumn || 'none'}</dd>
        </div>
      </dl>
      <div className="section-head">
        <h3>Transforms</h3>
        <Pager
          canPrevious={page > 0}
          canNext={page + 1 < pages}
          onPrevious={() => setPage(page - 1)}
          onNext={() => setPage(page + 1)}
          text={`Page ${page + 1} of ${pages}`}
          label="Transform pages"
        />
      </div>
      <div className="table-wrap">
        <table className="data compact">
          <caption className="visually-hidden">Transforms, sorted by {sort.key === 'count' ? 'count' : 'mean ΔpActivity'}</caption>
          <thead>
            <tr>
              <th scope="col">Transform</th>
              {header('count', 'Pairs')}
              <th scope="col" className="num">
                With activity
              </th>
              {header('meanDelta', 'Mean ΔpActivity')}
              <th scope="col" className="num">
                SD
              </th>
            </tr>
          </thead>
          <tbody>
            {transforms.slice(page * PAGE, (page + 1) * PAGE).map((t) => (
              <tr key={t.transform} className={t.transform === chosen ? 'chosen' : undefined}>
                <th scope="row">
                  <button type="button" className="link mono" onClick={() => (setChosen(t.transform ?? null), setShownPairs(PAIRS))} aria-pressed={t.transform === chosen}>
                    {t.transform}
                  </button>
                </th>
                <td className="num">{count(t.count)}</td>
                <td className="num">{count(t.activityCount)}</td>
                <td className="num">{fixed(t.meanDelta)}</td>
                <td className="num">{fixed(t.stdDelta)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {totals.transforms > (mmp.transforms?.length ?? 0) && (
        <p className="hint">
          The table shows the {count(mmp.transforms?.length)} most frequent of {count(totals.transforms)} transforms.
        </p>
      )}
      {chosen && (
        <section aria-labelledby="pairs-heading">
          <h3 id="pairs-heading">
            Pairs of <code className="wrap">{chosen}</code> ({count(pairs.length)})
          </h3>
          {found.loading && (
            <p aria-busy="true">
              Looking for its pairs: {count(found.scanned)} of {count(totals.pairs)} pairs read…
            </p>
          )}
          {found.truncated && (
            <p className="hint">
              Showing its pairs among the first {count(found.scanned)} of {count(totals.pairs)}; download all pairs with{' '}
              <code className="wrap">molbatch analytics {jobId} mmp --pairs-csv pairs.csv</code>.
            </p>
          )}
          <ErrorMessage error={found.error} title="The pairs could not be loaded" />
          <ul className="pairs">
            {shown.map((p, i) => (
              <PairRow key={i} jobId={jobId} a={Number(p.a)} b={Number(p.b)} depictions={depictions} label={`Pair ${p.a} and ${p.b}`}>
                <span>
                  <code className="wrap">{p.variableA}</code> → <code className="wrap">{p.variableB}</code>
                </span>
                <span>ΔpActivity {p.deltaPActivity === undefined ? '–' : fixed(p.deltaPActivity)}</span>
                <span>Tanimoto {fixed(p.tanimoto, 3)}</span>
              </PairRow>
            ))}
          </ul>
          {shownPairs < pairs.length && (
            <button type="button" onClick={() => setShownPairs((n) => n + PAIRS)}>
              Show more pairs
            </button>
          )}
        </section>
      )}
    </>
  );
}
