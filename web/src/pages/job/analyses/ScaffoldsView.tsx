/**
 * The scaffolds analysis: Bemis–Murcko or generic scaffolds as a grid of
 * structures with their molecule counts, largest first; a click lists the
 * scaffold's members with their structures.
 */
import { useEffect, useId, useRef, useState } from 'react';
import type { Analysis } from '../../../api/types';
import { Pager } from '../../../components/Pager';
import { count, fixed } from '../../../lib/format';
import { MoleculeGrid, SmilesStructure, useSmiles } from './Molecules';

/** Scaffolds per page. */
const PAGE = 40;
/** Members drawn at once. */
const MEMBERS = 60;

export function ScaffoldsView({ jobId, analysis }: { jobId: string; analysis: Analysis }) {
  const s = analysis.scaffolds ?? {};
  const [kind, setKind] = useState<'murcko' | 'generic'>('murcko');
  const [page, setPage] = useState(0);
  const [open, setOpen] = useState<number | null>(null);
  const [shownMembers, setShownMembers] = useState(MEMBERS);
  const kindId = useId();
  const groups = (kind === 'murcko' ? s.scaffolds : s.genericScaffolds) ?? [];
  const pages = Math.max(1, Math.ceil(groups.length / PAGE));
  const shown = groups.slice(page * PAGE, (page + 1) * PAGE);
  const depictions = useSmiles(shown.map((g) => g.key ?? '').filter(Boolean));
  const chosen = open === null ? null : groups[open];
  const members = (chosen?.members ?? []).map(Number);
  // A click shows the members below the grid: bring them into view.
  const membersRef = useRef<HTMLElement>(null);
  useEffect(() => {
    if (open !== null) membersRef.current?.scrollIntoView({ block: 'start' });
  }, [open]);

  return (
    <>
      <dl className="stats">
        <div>
          <dt>Murcko scaffolds</dt>
          <dd>{count(s.scaffolds?.length)}</dd>
        </div>
        <div>
          <dt>Generic scaffolds</dt>
          <dd>{count(s.genericScaffolds?.length)}</dd>
        </div>
        <div>
          <dt>Scaled entropy (Murcko / generic)</dt>
          <dd>
            {fixed(s.scaledEntropy, 3)} / {fixed(s.genericScaledEntropy, 3)}
          </dd>
        </div>
      </dl>
      <div className="toolbar">
        <span>
          <label htmlFor={kindId}>Scaffolds</label>{' '}
          <select
            id={kindId}
            value={kind}
            onChange={(e) => {
              setKind(e.target.value as 'murcko' | 'generic');
              setPage(0);
              setOpen(null);
            }}
          >
            <option value="murcko">Bemis–Murcko</option>
            <option value="generic">Generic (all-carbon frameworks)</option>
          </select>
        </span>
        <Pager
          canPrevious={page > 0}
          canNext={page + 1 < pages}
          onPrevious={() => setPage(page - 1)}
          onNext={() => setPage(page + 1)}
          text={`Page ${page + 1} of ${pages}`}
          label="Scaffold pages"
        />
      </div>
      <ul className="grid" aria-label={`${kind === 'murcko' ? 'Murcko' : 'Generic'} scaffolds, page ${page + 1}`} data-count={shown.length}>
        {shown.map((g, i) => {
          const at = page * PAGE + i;
          return (
            <li key={`${kind}-${at}`}>
              <button
                type="button"
                className={`card card-button ${open === at ? 'open' : ''}`}
                aria-pressed={open === at}
                aria-label={`Scaffold ${at + 1}: ${count(g.members?.length)} molecules${g.key ? '' : ' (acyclic)'}`}
                onClick={() => {
                  setOpen(open === at ? null : at);
                  setShownMembers(MEMBERS);
                }}
              >
                <SmilesStructure smiles={g.key ?? ''} entry={depictions.get(g.key ?? '')} empty="acyclic (no ring)" />
                <span className="card-caption">
                  <strong>{count(g.members?.length)}</strong> molecules
                </span>
              </button>
            </li>
          );
        })}
      </ul>
      {chosen && (
        <section aria-labelledby="members-heading" ref={membersRef}>
          <h3 id="members-heading">
            Members of scaffold {(open ?? 0) + 1} ({count(members.length)}) <code className="wrap">{chosen.key || 'acyclic'}</code>
          </h3>
          <MoleculeGrid jobId={jobId} label={`Members of scaffold ${(open ?? 0) + 1}`} indexes={members.slice(0, shownMembers)} />
          {shownMembers < members.length && (
            <button type="button" onClick={() => setShownMembers((n) => n + MEMBERS)}>
              Show more members
            </button>
          )}
        </section>
      )}
    </>
  );
}
