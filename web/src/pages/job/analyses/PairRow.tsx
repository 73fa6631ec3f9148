/** Two molecules of a job side by side, for matched pairs and activity cliffs. */
import type { ReactNode } from 'react';
import type { DepictionEntry } from '../../../components/depictions';
import { MoleculeCard } from './Molecules';

export function PairRow({ jobId, a, b, depictions, children, label }: { jobId: string; a: number; b: number; depictions: Map<number, DepictionEntry>; children: ReactNode; label: string }) {
  return (
    <li className="pair" aria-label={label}>
      <MoleculeCard jobId={jobId} index={a} entry={depictions.get(a)} />
      <span className="pair-arrow" aria-hidden="true">
        →
      </span>
      <MoleculeCard jobId={jobId} index={b} entry={depictions.get(b)} />
      <div className="pair-facts">{children}</div>
    </li>
  );
}
