/** The deduplication analysis: per level, how many distinct molecules, and the duplicate groups with their structures. */
import { useState } from 'react';
import type { Analysis } from '../../../api/types';
import { count } from '../../../lib/format';
import { MoleculeGrid } from './Molecules';

const LEVEL_NAMES: Record<string, string> = {
  exact: 'Exact (canonical SMILES)',
  tautomer: 'Tautomers (canonical tautomer)',
  stereo_insensitive: 'Stereo-insensitive (SMILES without stereo)',
  salt_form: 'Salt forms (fragment parent)',
};

/** Groups shown at once per level. */
const GROUPS = 5;
/** Members drawn per group. */
const MEMBERS = 8;

export function DeduplicationView({ jobId, analysis }: { jobId: string; analysis: Analysis }) {
  const levels = analysis.deduplication?.levels ?? [];
  const [level, setLevel] = useState(levels[0]?.level ?? '');
  const [shown, setShown] = useState(GROUPS);
  const current = levels.find((l) => l.level === level);
  const groups = current?.groups ?? [];
  return (
    <>
      <div className="table-wrap">
        <table className="data compact">
          <caption className="visually-hidden">Duplicates by level</caption>
          <thead>
            <tr>
              <th scope="col">Level</th>
              <th scope="col" className="num">
                Distinct molecules
              </th>
              <th scope="col" className="num">
                Duplicate groups
              </th>
              <th scope="col" className="num">
                Molecules in them
              </th>
            </tr>
          </thead>
          <tbody>
            {levels.map((l) => (
              <tr key={l.level}>
                <th scope="row">
                  <button type="button" className="link" aria-pressed={l.level === level} onClick={() => (setLevel(l.level ?? ''), setShown(GROUPS))}>
                    {LEVEL_NAMES[l.level ?? ''] ?? l.level}
                  </button>
                </th>
                <td className="num">{count(l.uniqueCount)}</td>
                <td className="num">{count(l.groups?.length)}</td>
                <td className="num">{count((l.groups ?? []).reduce((n, g) => n + (g.members?.length ?? 0), 0))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3>{LEVEL_NAMES[level] ?? level}: groups, largest first</h3>
      {groups.length === 0 && <p className="empty">No duplicates at this level.</p>}
      {groups.slice(0, shown).map((g, i) => (
        <section key={`${level}-${i}`} className="group" aria-label={`Group ${i + 1}`}>
          <h4>
            Group {i + 1}: {count(g.members?.length)} molecules <code className="wrap">{g.key}</code>
          </h4>
          <MoleculeGrid jobId={jobId} label={`Group ${i + 1}`} indexes={(g.members ?? []).slice(0, MEMBERS).map(Number)} />
          {(g.members?.length ?? 0) > MEMBERS && <p className="hint">and {count((g.members?.length ?? 0) - MEMBERS)} more: {g.members?.slice(MEMBERS, MEMBERS + 40).join(', ')}{(g.members?.length ?? 0) > MEMBERS + 40 ? ', …' : ''}</p>}
        </section>
      ))}
      {shown < groups.length && (
        <button type="button" onClick={() => setShown((n) => n + GROUPS)}>
          Show more groups
        </button>
      )}
    </>
  );
}
