import { stateLabel } from '../lib/format';

/** A job state as a coloured badge with its name (never colour alone). */
export function StateBadge({ state }: { state: string | undefined }) {
  const name = (state ?? 'JOB_STATE_UNSPECIFIED').replace('JOB_STATE_', '').toLowerCase();
  return <span className={`badge state-${name}`}>{stateLabel(state)}</span>;
}
