/** The structure of the molecule under the mouse, beside the pointer over a plot. */
import type { ReactNode } from 'react';
import { useSession } from '../../../app/session';
import { useDepiction } from '../../../components/depictions';
import { Structure } from '../../../components/Structure';
import { CARD } from './Molecules';

export function HoverCard({ jobId, index, x, y, children }: { jobId: string; index: number; x: number; y: number; children?: ReactNode }) {
  const { client } = useSession();
  const entry = useDepiction(client, jobId, index, CARD);
  return (
    <div className="hover-card" role="status" aria-label={`Molecule ${index}`} style={{ left: `${x + 16}px`, top: `${Math.max(0, y - 60)}px` }}>
      <Structure entry={entry} smiles="" width={CARD.width} height={CARD.height} />
      <p>
        <span className="mono">#{index}</span> {children}
      </p>
    </div>
  );
}
