import { useEffect, useMemo, useState } from 'react';
import type { Job, ListResultsResponse, MoleculeResult } from '../../api/types';
import { href } from '../../app/route';
import { useSession } from '../../app/session';
import { usePageDepictions } from '../../components/depictions';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Pager } from '../../components/Pager';
import { Structure } from '../../components/Structure';
import { count, num } from '../../lib/format';
import { firstPage, nextPage, pageNumber, previousPage } from '../../lib/tokens';
import { activityColumns, activityNames, DESCRIPTOR_COLUMNS, FILTERS, orderBy, type Column } from './columns';
import { PageSizeSelect } from '../../components/PageSizeSelect';

/** The size of a row's structure. */
export const THUMB = { width: 200, height: 150 };
/** Rows per page at first. */
export const FIRST_PAGE_SIZE = 50;

type ResultsPage = ListResultsResponse;

interface Sort {
  field: string;
  desc: boolean;
}

/** A job's results, paged, sorted and filtered on the server, with a structure per row. */
export function ResultsTable({ job }: { job: Job }) {
  const { client } = useSession();
  const jobId = job.jobId ?? '';
  const [pageSize, setPageSize] = useState(FIRST_PAGE_SIZE);
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<Sort | null>(null);
  const [tokens, setTokens] = useState(firstPage);
  const [page, setPage] = useState<ResultsPage | null>(null);
  // The sort of the page shown (the one asked for may still be loading or refused).
  const [shownSort, setShownSort] = useState<Sort | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [names, setNames] = useState<string[]>([]);
  // Reload when the job ends: a running job's pages grow.
  const state = job.state;
  const requestKey = JSON.stringify([jobId, pageSize, tokens.current, filter, sort, state]);
  const [loadedKey, setLoadedKey] = useState('');
  const loading = loadedKey !== requestKey;

  useEffect(() => {
    const controller = new AbortController();
    client
      .get<ResultsPage>(
        `/v1/jobs/${encodeURIComponent(jobId)}/results`,
        { pageSize, pageToken: tokens.current, filter: filter || undefined, orderBy: orderBy(sort) || undefined },
        { signal: controller.signal },
      )
      .then((p) => {
        if (controller.signal.aborted) return; // superseded by a newer request
        setPage(p);
        setShownSort(sort);
        setError(null);
        setLoadedKey(requestKey);
        // Activity columns stay once seen, so a page without values keeps its layout.
        const seen = activityNames(p.results ?? []);
        setNames((known) => (seen.some((n) => !known.includes(n)) ? [...known, ...seen.filter((n) => !known.includes(n))] : known));
      })
      .catch((e: unknown) => {
        if (controller.signal.aborted) return;
        setError(e);
        setLoadedKey(requestKey);
      });
    return () => controller.abort();
  }, [client, jobId, pageSize, tokens, filter, sort, state, requestKey]);

  const results = useMemo(() => page?.results ?? [], [page]);
  // A file without an id column leaves the ID column out.
  const showId = results.some((r) => r.inputId);
  const columns = useMemo(() => [...DESCRIPTOR_COLUMNS, ...activityColumns(names)], [names]);
  // The server draws a job's molecules once it is COMPLETED.
  const drawable = state === 'JOB_STATE_COMPLETED';
  const indexes = useMemo(() => (drawable ? results.filter((r) => r.valid).map((r) => num(r.index)) : []), [results, drawable]);
  const depictions = usePageDepictions(client, jobId, indexes, THUMB);

  function sortBy(field: string) {
    setTokens(firstPage);
    // Numbers read best-first descending; a second click flips, a third clears.
    if (!sort || sort.field !== field) setSort({ field, desc: field !== 'index' });
    else if (sort.desc === (field !== 'index')) setSort({ field, desc: !sort.desc });
    else setSort(null);
  }

  // Filtered counts are known once the job has COMPLETED (0 before).
  const matched = filter && drawable && page?.matchedSize !== undefined ? num(page.matchedSize) : null;
  const total = num(page?.totalSize);
  const start = (pageNumber(tokens) - 1) * pageSize;

  return (
    <section className="results" aria-labelledby="results-heading">
      <div className="section-head">
        <h2 id="results-heading">Results</h2>
        <div className="toolbar">
          <label>
            Show{' '}
            <select
              value={filter}
              onChange={(e) => {
                setFilter(e.target.value);
                setTokens(firstPage);
              }}
            >
              {FILTERS.map((f) => (
                <option key={f.value} value={f.value}>
                  {f.label}
                </option>
              ))}
            </select>
          </label>
          <PageSizeSelect
            value={pageSize}
            onChange={(size) => {
              setPageSize(size);
              setTokens(firstPage);
            }}
          />
          <Pager
            canPrevious={tokens.previous.length > 0}
            canNext={!!page?.nextPageToken}
            onPrevious={() => setTokens(previousPage(tokens))}
            onNext={() => page?.nextPageToken && setTokens(nextPage(tokens, page.nextPageToken))}
            text={
              results.length > 0
                ? `${count(start + 1)}–${count(start + results.length)} of ${count(matched ?? total)}${matched !== null && filter ? ` matching (${count(total)} in the job)` : ''}`
                : ''
            }
          />
        </div>
      </div>
      <ErrorMessage error={error} />
      {page && results.length === 0 && <p className="empty">No molecules match.</p>}
      {results.length > 0 && (
        <div className="table-wrap" aria-busy={loading}>
          <table className="data results-table">
            <caption className="visually-hidden">
              Results, page {pageNumber(tokens)}
              {shownSort ? `, sorted by ${shownSort.field} ${shownSort.desc ? 'descending' : 'ascending'}` : ', in input order'}
            </caption>
            <thead>
              <tr>
                <th scope="col">Structure</th>
                <SortHeader label="#" title="Input position (0-based)" field={drawable ? 'index' : undefined} sort={sort} onSort={sortBy} numeric />
                {showId && <th scope="col">ID</th>}
                <th scope="col">SMILES</th>
                <th scope="col">Status</th>
                {columns.map((c) => (
                  // The server sorts a job's results once it has COMPLETED.
                  <SortHeader key={c.id} label={c.label} title={c.title} field={drawable ? c.sort : undefined} sort={sort} onSort={sortBy} numeric={c.numeric} />
                ))}
                <th scope="col">Alerts</th>
              </tr>
            </thead>
            <tbody>
              {results.map((r) => (
                <ResultRow key={num(r.index)} jobId={jobId} result={r} columns={columns} depiction={depictions.get(num(r.index))} drawable={drawable} showId={showId} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {results.length > 0 && (
        <Pager
          canPrevious={tokens.previous.length > 0}
          canNext={!!page?.nextPageToken}
          onPrevious={() => setTokens(previousPage(tokens))}
          onNext={() => page?.nextPageToken && setTokens(nextPage(tokens, page.nextPageToken))}
          text={`Page ${pageNumber(tokens)}`}
          label="Results pages, bottom"
        />
      )}
    </section>
  );
}

function SortHeader({ label, title, field, sort, onSort, numeric }: {
  label: string;
  title: string;
  field: string | undefined;
  sort: Sort | null;
  onSort: (field: string) => void;
  numeric: boolean;
}) {
  const active = field !== undefined && sort?.field === field;
  const ariaSort = active ? (sort?.desc ? 'descending' : 'ascending') : undefined;
  return (
    <th scope="col" className={numeric ? 'num' : undefined} aria-sort={ariaSort} title={title}>
      {field ? (
        <button type="button" className="sort" onClick={() => onSort(field)} aria-label={`${label}: ${title}. Sort`}>
          {label}
          <span aria-hidden="true" className="sort-mark">
            {active ? (sort?.desc ? '▼' : '▲') : '↕'}
          </span>
        </button>
      ) : (
        label
      )}
    </th>
  );
}

/** A molecule's index (linking to its page), input id (when the table shows ids) and SMILES cells. */
export function MoleculeCells({ link, index, inputId, smiles, showId }: {
  link: string;
  index: number;
  inputId: string | undefined;
  smiles: string;
  showId: boolean;
}) {
  return (
    <>
      <td className="num">
        <a href={link} aria-label={`Molecule ${index}`}>
          {index}
        </a>
      </td>
      {showId && <td className="id">{inputId}</td>}
      <td className="smiles">
        <span title={smiles}>{smiles}</span>
      </td>
    </>
  );
}

function ResultRow({ jobId, result: r, columns, depiction, drawable, showId }: {
  jobId: string;
  result: MoleculeResult;
  columns: Column[];
  drawable: boolean;
  showId: boolean;
  depiction: ReturnType<typeof usePageDepictions> extends Map<number, infer E> ? E | undefined : never;
}) {
  const index = num(r.index);
  const smiles = r.standardizedSmiles || r.canonicalSmiles || r.inputSmiles || '';
  const link = href({ page: 'molecule', jobId, index });
  const alerts = r.alerts ?? [];
  return (
    <tr className={r.valid ? undefined : 'invalid'}>
      <td className="structure-cell">
        {r.valid && !drawable ? (
          <div className="structure structure-pending thumb-size">
            <span>Drawn when the job completes</span>
          </div>
        ) : r.valid ? (
          <a href={link} tabIndex={-1}>
            <Structure entry={depiction} smiles={smiles} width={THUMB.width} height={THUMB.height} />
          </a>
        ) : (
          <div className="structure structure-missing thumb-size">
            <span>{r.errorCode || 'invalid'}</span>
          </div>
        )}
      </td>
      <MoleculeCells link={link} index={index} inputId={r.inputId} smiles={smiles} showId={showId} />
      <td className="status">
        {r.valid ? (
          <span className="ok">valid</span>
        ) : (
          <span className="bad" title={r.errorMessage}>
            {r.errorCode}
            {r.errorMessage && <span className="err-msg">{r.errorMessage}</span>}
          </span>
        )}
      </td>
      {columns.map((c) => (
        <td key={c.id} className="num">
          {c.value(r)}
        </td>
      ))}
      <td className="alerts">
        {r.pains && <span className="badge pains">PAINS</span>}
        {alerts.length > 0 && (
          <span title={alerts.map((a) => `${a.catalog}: ${a.name}`).join('\n')}>
            {alerts.length} alert{alerts.length === 1 ? '' : 's'}
          </span>
        )}
      </td>
    </tr>
  );
}
