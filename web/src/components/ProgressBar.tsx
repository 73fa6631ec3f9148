/** A progress bar with its text, for a job's molecules or an upload's bytes. */
export function ProgressBar({ value, label, text }: { value: number | null; label: string; text?: string }) {
  const percent = value === null ? null : Math.round(value * 1000) / 10;
  return (
    <div className="progress">
      <progress aria-label={label} max={100} value={percent ?? undefined} />
      <span className="progress-text">{text ?? (percent === null ? '…' : `${percent.toFixed(percent < 100 ? 1 : 0)}%`)}</span>
    </div>
  );
}
