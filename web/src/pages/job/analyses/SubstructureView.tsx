/**
 * Substructure search inside a completed job: a SMILES or SMARTS query, then
 * the molecules that contain it, in input order and paged on the server,
 * each drawn with its first match highlighted. The search lives in the
 * address (see `substructure.ts`), so Back, reload and a shared link show it
 * again; the page tokens and counts of the pages seen live here.
 */
import { useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import { ApiError } from '../../../api/client';
import { href, navigate } from '../../../app/route';
import { useSession } from '../../../app/session';
import { useMoleculeDepictions } from '../../../components/depictions';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { PageSizeSelect } from '../../../components/PageSizeSelect';
import { Pager } from '../../../components/Pager';
import { Structure } from '../../../components/Structure';
import { count, num } from '../../../lib/format';
import { firstPage, nextPage, pageNumber, previousPage, type TokenStack } from '../../../lib/tokens';
import { MoleculeCells, THUMB } from '../ResultsTable';
import {
  countsSoFar,
  countsText,
  pageCounts,
  parseSearch,
  searchQuery,
  searchRequest,
  type SearchCounts,
  type SearchSubstructureResponse,
  type SubstructureHit,
  type SubstructureSearch,
} from './substructure';

/** The query the placeholder suggests: indole. */
const EXAMPLE = 'c1ccc2[nH]ccc2c1';

export function SubstructureView({ jobId, query }: { jobId: string; query: string | undefined }) {
  const search = useMemo(() => parseSearch(query), [query]);
  // Bumped when the search asked for is the one shown, so Search starts it again at page one.
  const [run, setRun] = useState(0);
  const { tokens, setTokens, page, counts, error, loading } = useSearchPages(jobId, search, run);
  // What the form shows: the address's search until the user edits it.
  const [draft, setDraft] = useState({ from: query ?? '', values: search });
  const form = draft.from === (query ?? '') ? draft.values : search;
  const edit = (changes: Partial<SubstructureSearch>) => setDraft({ from: query ?? '', values: { ...form, ...changes } });
  const id = useId();

  function go(next: SubstructureSearch) {
    if (searchQuery(next) === searchQuery(search)) setRun((r) => r + 1);
    else navigate({ page: 'analyses', jobId, view: 'substructure', query: searchQuery(next) });
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const next = { ...form, query: form.query.trim(), pageSize: search.pageSize };
    if (next.query) go(next);
  }

  // The box is marked when the server refused the query itself (RDKit's reason is in the message).
  const badQuery = error instanceof ApiError && error.violations.some((v) => v.field === 'query');
  const hits = page?.hits ?? [];
  const soFar = countsSoFar(tokens, counts);
  const done = !!page && !page.nextPageToken;
  const start = (pageNumber(tokens) - 1) * search.pageSize;
  const pager = (label: string, text: string) => (
    <Pager
      label={label}
      canPrevious={tokens.previous.length > 0 && !loading}
      canNext={!!page?.nextPageToken && !loading}
      onPrevious={() => setTokens(previousPage(tokens))}
      onNext={() => page?.nextPageToken && setTokens(nextPage(tokens, page.nextPageToken))}
      text={text}
    />
  );

  return (
    <section aria-labelledby="substructure-heading">
      <h2 id="substructure-heading" className="h3">
        Search by substructure
      </h2>
      <p className="hint">The job&apos;s standardised molecules that contain the query, in input order, each with its first match highlighted.</p>
      <form className="run-form" onSubmit={submit} aria-label="Substructure search">
        <div className="run-params">
          <div className="field wide">
            <label htmlFor={`${id}-query`}>Query</label>
            <input
              id={`${id}-query`}
              type="text"
              value={form.query}
              onChange={(e) => edit({ query: e.target.value })}
              placeholder={EXAMPLE}
              spellCheck={false}
              autoComplete="off"
              required
              aria-invalid={badQuery || undefined}
              aria-describedby={`${id}-syntax-hint${error ? ` ${id}-error` : ''}`}
            />
          </div>
          <fieldset className="choice">
            <legend>Read the query as</legend>
            <label>
              <input type="radio" name={`${id}-syntax`} value="smiles" checked={form.syntax === 'smiles'} onChange={() => edit({ syntax: 'smiles' })} /> SMILES
            </label>
            <label>
              <input type="radio" name={`${id}-syntax`} value="smarts" checked={form.syntax === 'smarts'} onChange={() => edit({ syntax: 'smarts' })} /> SMARTS
            </label>
          </fieldset>
          <div className="field checkbox-field">
            <input id={`${id}-chirality`} type="checkbox" checked={form.useChirality} onChange={(e) => edit({ useChirality: e.target.checked })} />
            <label htmlFor={`${id}-chirality`}>Match stereochemistry</label>
          </div>
        </div>
        <p id={`${id}-syntax-hint`} className="hint">
          SMARTS <code>[nH]</code> requires the N–H; a SMILES query ignores hydrogen counts (indole as SMILES also finds N-methylindole).
        </p>
        <button type="submit" className="primary" disabled={loading}>
          {loading ? 'Searching…' : 'Search'}
        </button>
        <div id={`${id}-error`}>
          <ErrorMessage error={error} title="The search was refused" />
        </div>
      </form>
      {search.query && (
        <div className="section-head">
          <p role="status" aria-busy={loading}>
            {loading && !page ? 'Searching…' : soFar && page ? countsText(soFar, num(page.searched), done, count) : ''}
          </p>
          {page && (
            <div className="toolbar">
              <PageSizeSelect value={search.pageSize} onChange={(pageSize) => go({ ...search, pageSize })} />
              {pager('Hit pages', hits.length > 0 ? `Hits ${count(start + 1)}–${count(start + hits.length)}` : `Page ${pageNumber(tokens)}`)}
            </div>
          )}
        </div>
      )}
      {page && hits.length === 0 && <p className="empty">{tokens.previous.length > 0 ? 'No more hits.' : 'No molecule contains the query.'}</p>}
      {hits.length > 0 && <HitsTable jobId={jobId} hits={hits} loading={loading} caption={`Substructure hits, page ${pageNumber(tokens)}`} />}
      {hits.length > 0 && pager('Hit pages, bottom', `Page ${pageNumber(tokens)}`)}
    </section>
  );
}

/** One page of hits: the structure with the match highlighted, the molecule's index (linked), input id and SMILES. */
function HitsTable({ jobId, hits, loading, caption }: { jobId: string; hits: SubstructureHit[]; loading: boolean; caption: string }) {
  const { client } = useSession();
  const drawings = useMemo(() => hits.map((h) => ({ index: num(h.index), highlightAtoms: h.atoms ?? [] })), [hits]);
  const depictions = useMoleculeDepictions(client, jobId, drawings, THUMB);
  // A file without an id column leaves the ID column out.
  const showId = hits.some((h) => h.inputId);
  return (
    <div className="table-wrap" aria-busy={loading}>
      <table className="data results-table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Structure</th>
            <th scope="col" className="num" title="Input position (0-based)">
              #
            </th>
            {showId && <th scope="col">ID</th>}
            <th scope="col">SMILES</th>
          </tr>
        </thead>
        <tbody>
          {hits.map((h) => {
            const index = num(h.index);
            const link = href({ page: 'molecule', jobId, index });
            return (
              <tr key={index}>
                <td className="structure-cell">
                  <a href={link} tabIndex={-1}>
                    <Structure entry={depictions.get(index)} smiles={h.smiles ?? ''} width={THUMB.width} height={THUMB.height} />
                  </a>
                </td>
                <MoleculeCells link={link} index={index} inputId={h.inputId} smiles={h.smiles ?? ''} showId={showId} />
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

interface PagesState {
  /** The search (and run) these pages belong to. */
  key: string;
  tokens: TokenStack;
  /** Each page's own counts, by its token. */
  counts: ReadonlyMap<string, SearchCounts>;
  page: SearchSubstructureResponse | null;
  error: unknown;
  /** The token of the page last answered (or refused). */
  loaded: string | null;
}

const freshPages = (key: string): PagesState => ({ key, tokens: firstPage, counts: new Map(), page: null, error: null, loaded: null });

/**
 * The pages of one search: the current page, asked for whenever the search
 * or the page token changes. A new search starts from nothing, without an
 * effect to reset the old one's state: state of another search is ignored.
 */
function useSearchPages(jobId: string, search: SubstructureSearch, run: number) {
  const { client } = useSession();
  const key = JSON.stringify([jobId, search, run]);
  const [stored, setStored] = useState<PagesState>(() => freshPages(key));
  const state = stored.key === key ? stored : freshPages(key);
  const token = state.tokens.current;

  useEffect(() => {
    if (!search.query) return;
    const controller = new AbortController();
    const update = (change: (s: PagesState) => Partial<PagesState>) =>
      setStored((s) => {
        const base = s.key === key ? s : freshPages(key);
        return { ...base, ...change(base), loaded: token };
      });
    client
      .post<SearchSubstructureResponse>(`/v1/jobs/${encodeURIComponent(jobId)}/substructure:search`, searchRequest(search, token), { signal: controller.signal })
      .then((page) => update((s) => ({ page, error: null, counts: new Map(s.counts).set(token, pageCounts(page)) })))
      .catch((e: unknown) => {
        if (!controller.signal.aborted) update(() => ({ error: e }));
      });
    return () => controller.abort();
    // `key` stands for the job and the search.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, key, token]);

  return {
    tokens: state.tokens,
    setTokens: (tokens: TokenStack) => setStored({ ...state, tokens }),
    page: state.page,
    counts: state.counts,
    error: state.error,
    loading: !!search.query && state.loaded !== token,
  };
}
