/** The R-group decomposition: the core, then one column per R label with its substituents as structures and counts. */
import { useState } from 'react';
import type { Analysis } from '../../../api/types';
import { count } from '../../../lib/format';
import { SmilesStructure, useSmiles } from './Molecules';

/** Substituents shown per label at first. */
const SHOWN = 10;

export function RGroupsView({ analysis }: { jobId: string; analysis: Analysis }) {
  const r = analysis.rgroups ?? {};
  const [shown, setShown] = useState(SHOWN);
  const labels = r.substituents ?? [];
  const smiles = [r.core ?? '', ...labels.flatMap((l) => (l.substituents ?? []).slice(0, shown).map((s) => s.smiles ?? ''))].filter(Boolean);
  const depictions = useSmiles(smiles);
  return (
    <>
      <div className="rgroup-head">
        <figure className="card">
          <SmilesStructure smiles={r.core ?? ''} entry={depictions.get(r.core ?? '')} />
          <figcaption>
            Core <code className="wrap">{r.core}</code>
            {r.coreProposed && <> (the most frequent Murcko scaffold, {count(r.coreScaffoldCount)} molecules)</>}
          </figcaption>
        </figure>
        <dl className="stats">
          <div>
            <dt>Decomposed</dt>
            <dd>
              {count(r.matched)} of {count(r.molecules)}
            </dd>
          </div>
          <div>
            <dt>Without the core</dt>
            <dd>{count(r.unmatched)}</dd>
          </div>
          <div>
            <dt>Over time budget</dt>
            <dd>{count(r.overBudget)}</dd>
          </div>
          <div>
            <dt>Failed</dt>
            <dd>{count(r.failed)}</dd>
          </div>
        </dl>
      </div>
      {r.matching === 'first_match' && <p className="notice">The symmetry-aware matching ran out of time: equivalent positions may carry different labels.</p>}
      {labels.length === 0 ? (
        <p className="empty">No molecule was decomposed.</p>
      ) : (
        // Focusable, so the keyboard can scroll the columns sideways.
        <div className="rgroup-columns" role="region" aria-label="Substituents by R label" tabIndex={0}>
          {labels.map((l) => (
            <section key={l.label} aria-label={`${l.label} substituents`} className="rgroup-column">
              <h3>
                {l.label} <span className="hint">({count(l.substituents?.length)} distinct)</span>
              </h3>
              <ul>
                {(l.substituents ?? []).slice(0, shown).map((s) => (
                  <li key={s.smiles}>
                    <figure className="card">
                      <SmilesStructure smiles={s.smiles ?? ''} entry={depictions.get(s.smiles ?? '')} />
                      <figcaption>
                        <strong>{count(s.count)}</strong> molecules <code className="wrap">{s.smiles}</code>
                      </figcaption>
                    </figure>
                  </li>
                ))}
              </ul>
            </section>
          ))}
        </div>
      )}
      {labels.some((l) => (l.substituents?.length ?? 0) > shown) && (
        <button type="button" onClick={() => setShown((n) => n + SHOWN)}>
          Show more substituents
        </button>
      )}
    </>
  );
}
