import { useState } from 'react';
import type { Export } from '../../api/types';
import { useSession } from '../../app/session';
import { ErrorMessage } from '../../components/ErrorMessage';

const FORMATS = [
  { format: 'csv', label: 'CSV' },
  { format: 'sdf', label: 'SDF' },
  { format: 'json', label: 'JSON' },
  { format: 'jsonl', label: 'JSON Lines' },
  { format: 'xlsx', label: 'Excel (xlsx)' },
  { format: 'report', label: 'Report (HTML)' },
  { format: 'report_pdf', label: 'Report (PDF)' },
];

/**
 * Export buttons: each creates an export on the server, waits for it to be
 * written, then downloads it with the key (fetch → blob → a[download]).
 */
export function Exports({ jobId }: { jobId: string }) {
  const { client } = useSession();
  const [busy, setBusy] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);

  async function run(format: string) {
    setError(null);
    setBusy((b) => ({ ...b, [format]: 'Preparing…' }));
    try {
      let exp = await client.post<Export>(`/v1/jobs/${encodeURIComponent(jobId)}/exports`, { format });
      const id = exp.exportId ?? '';
      let delay = 300;
      while (exp.state !== 'EXPORT_STATE_COMPLETE') {
        if (exp.state === 'EXPORT_STATE_FAILED') throw new Error(`The ${format} export failed: ${exp.error || 'no reason given'}`);
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(2000, delay * 1.5);
        exp = await client.get<Export>(`/v1/exports/${encodeURIComponent(id)}`);
      }
      setBusy((b) => ({ ...b, [format]: 'Downloading…' }));
      await client.download(`/v1/exports/${encodeURIComponent(id)}:download`, exp.fileName || `${jobId}.${format}`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy((b) => {
        const rest = { ...b };
        delete rest[format];
        return rest;
      });
    }
  }

  return (
    <section className="exports" aria-labelledby="exports-heading">
      <h2 id="exports-heading" className="h3">
        Export results
      </h2>
      <div className="button-row">
        {FORMATS.map(({ format, label }) => (
          <button key={format} type="button" onClick={() => void run(format)} disabled={format in busy} aria-label={`Export ${label}`}>
            {busy[format] ?? label}
          </button>
        ))}
      </div>
      <ErrorMessage error={error} title="Export failed" />
    </section>
  );
}
