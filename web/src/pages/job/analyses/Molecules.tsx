/** Structures in the analyses: a job's molecules by index, and SMILES (scaffolds, R-groups). */
import type { ReactNode } from 'react';
import { href } from '../../../app/route';
import { useSession } from '../../../app/session';
import { usePageDepictions, useSmilesDepictions, type DepictionEntry } from '../../../components/depictions';
import { Structure } from '../../../components/Structure';

/** The size of a structure in a grid. */
export const CARD = { width: 180, height: 135 };

/** Depictions of some of a job's molecules (at most 200 at a time). */
export function useMolecules(jobId: string, indexes: number[]): Map<number, DepictionEntry> {
  const { client } = useSession();
  return usePageDepictions(client, jobId, indexes, CARD);
}

/** A job's molecule: its structure, linked to its page, with a caption. */
export function MoleculeCard({ jobId, index, entry, children }: { jobId: string; index: number; entry: DepictionEntry | undefined; children?: ReactNode }) {
  return (
    <figure className="card">
      <a href={href({ page: 'molecule', jobId, index })} aria-label={`Molecule ${index}`}>
        <Structure entry={entry} smiles="" width={CARD.width} height={CARD.height} />
      </a>
      <figcaption>
        <span className="mono">#{index}</span> {children}
      </figcaption>
    </figure>
  );
}

/** A grid of a job's molecules, each with its caption. */
export function MoleculeGrid({ jobId, indexes, caption, label }: { jobId: string; indexes: number[]; caption?: (index: number) => ReactNode; label: string }) {
  const depictions = useMolecules(jobId, indexes);
  return (
    <ul className="grid" aria-label={label}>
      {indexes.map((i) => (
        <li key={i}>
          <MoleculeCard jobId={jobId} index={i} entry={depictions.get(i)}>
            {caption?.(i)}
          </MoleculeCard>
        </li>
      ))}
    </ul>
  );
}

/** Depictions of SMILES that are not molecules of a job. */
export function useSmiles(smiles: string[]): Map<string, DepictionEntry> {
  const { client } = useSession();
  return useSmilesDepictions(client, smiles, CARD);
}

/** A SMILES drawn, or a note for the empty one (acyclic molecules' scaffold, no substituent). */
export function SmilesStructure({ smiles, entry, empty = 'none' }: { smiles: string; entry: DepictionEntry | undefined; empty?: string }) {
  if (!smiles) {
    return (
      <div className="structure structure-pending" style={{ width: `${CARD.width}px`, height: `${CARD.height}px` }}>
        {empty}
      </div>
    );
  }
  return <Structure entry={entry} smiles={smiles} width={CARD.width} height={CARD.height} />;
}
