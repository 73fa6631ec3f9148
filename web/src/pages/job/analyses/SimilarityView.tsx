/** Similarity search inside the job: a SMILES, then the most similar molecules as structures with their Tanimoto similarity. */
import { useId, useState, type FormEvent } from 'react';
import { ApiError } from '../../../api/client';
import type { SearchSimilarResponse } from '../../../api/types';
import { useSession } from '../../../app/session';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { count, fixed } from '../../../lib/format';
import { MoleculeGrid } from './Molecules';

export function SimilarityView({ jobId }: { jobId: string }) {
  const { client } = useSession();
  const [smiles, setSmiles] = useState('');
  const [topK, setTopK] = useState('24');
  const [threshold, setThreshold] = useState('');
  const [answer, setAnswer] = useState<SearchSimilarResponse | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();

  async function search(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      setAnswer(
        await client.post<SearchSimilarResponse>(`/v1/jobs/${encodeURIComponent(jobId)}/similarity:search`, {
          smiles: smiles.trim(),
          topK: topK ? Number(topK) : undefined,
          threshold: threshold ? Number(threshold) : undefined,
        }),
      );
    } catch (err) {
      setAnswer(null);
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  // The box is marked when the server refused the SMILES itself.
  const badSmiles = error instanceof ApiError && error.violations.some((v) => v.field === 'smiles');
  const hits = answer?.hits ?? [];
  const similarity = new Map(hits.map((h) => [Number(h.index), h.similarity]));
  return (
    <section aria-labelledby="search-heading">
      <h2 id="search-heading" className="h3">
        Search by similarity
      </h2>
      <p className="hint">Tanimoto similarity of Morgan radius-2, 2048-bit fingerprints; the query is standardised like the job's molecules.</p>
      <form className="run-form" onSubmit={(e) => void search(e)} aria-label="Similarity search">
        <div className="run-params">
          <div className="field wide">
            <label htmlFor={`${id}-smiles`}>Query SMILES</label>
            <input id={`${id}-smiles`} type="text" aria-invalid={badSmiles || undefined} aria-describedby={badSmiles ? `${id}-error` : undefined} value={smiles} onChange={(e) => setSmiles(e.target.value)} spellCheck={false} required placeholder="e.g. c1ccc2[nH]ccc2c1" />
          </div>
          <div className="field">
            <label htmlFor={`${id}-k`}>Most hits</label>
            <input id={`${id}-k`} type="number" min={0} max={200} step={1} value={topK} onChange={(e) => setTopK(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-t`}>Least similarity (0–1)</label>
            <input id={`${id}-t`} type="number" min={0} max={1} step="any" value={threshold} onChange={(e) => setThreshold(e.target.value)} placeholder="none" />
          </div>
        </div>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Searching…' : 'Search'}
        </button>
      </form>
      <div id={`${id}-error`}>
        <ErrorMessage error={error} title="The search was refused" />
      </div>
      {answer && (
        <>
          <p role="status">
            {count(hits.length)} hits among {count(answer.searched)} molecules, most similar first.
          </p>
          <MoleculeGrid jobId={jobId} label="Similar molecules" indexes={hits.slice(0, 200).map((h) => Number(h.index))} caption={(i) => <>similarity {fixed(similarity.get(i), 3)}</>} />
        </>
      )}
    </section>
  );
}
