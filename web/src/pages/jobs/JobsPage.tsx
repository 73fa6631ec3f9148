import { useCallback, useEffect, useMemo, useState } from 'react';
import type { Job, ListJobsResponse } from '../../api/types';
import { useSession } from '../../app/session';
import { ErrorMessage } from '../../components/ErrorMessage';
import { ProgressBar } from '../../components/ProgressBar';
import { StateBadge } from '../../components/StateBadge';
import { MAX_WATCHES, useJobWatches } from '../../components/watch';
import { age, count, isActive, isCancellable, JOB_STATES, num, progress, stateLabel } from '../../lib/format';
import { firstPage, nextPage, pageNumber, previousPage } from '../../lib/tokens';
import { PageSizeSelect } from '../../components/PageSizeSelect';

/** How long typing in the name filter pauses before the list is asked for. */
const NAME_PAUSE_MS = 300;

/** The tenant's jobs, newest first, paged, with live progress. */
export function JobsPage() {
  const { client, canWrite } = useSession();
  const [pageSize, setPageSize] = useState(25);
  const [tokens, setTokens] = useState(firstPage);
  const [stateFilter, setStateFilter] = useState('');
  const [nameFilter, setNameFilter] = useState('');
  // What the list is filtered by: the typed name once typing pauses, so a
  // word typed is one request rather than one per key.
  const [nameQuery, setNameQuery] = useState('');
  const [page, setPage] = useState<ListJobsResponse | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [reload, setReload] = useState(0);
  const [actionError, setActionError] = useState<unknown>(null);

  useEffect(() => {
    const timer = setTimeout(() => setNameQuery(nameFilter.trim()), NAME_PAUSE_MS);
    return () => clearTimeout(timer);
  }, [nameFilter]);

  useEffect(() => {
    const controller = new AbortController();
    client
      .get<ListJobsResponse>(
        '/v1/jobs',
        { pageSize, pageToken: tokens.current, state: stateFilter || undefined, nameContains: nameQuery || undefined },
        { signal: controller.signal },
      )
      .then((p) => {
        if (controller.signal.aborted) return; // superseded by a newer request
        setPage(p);
        setError(null);
      })
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      });
    return () => controller.abort();
  }, [client, pageSize, tokens, stateFilter, nameQuery, reload]);

  // The server filters by state; a job that changed state since the page loaded stays until the next refresh.
  const jobs = useMemo(() => page?.jobs ?? [], [page]);

  const active = jobs.filter((j) => isActive(j.state)).map((j) => j.jobId ?? '');
  const onJob = useCallback((job: Job) => {
    setPage((p) => (p ? { ...p, jobs: (p.jobs ?? []).map((j) => (j.jobId === job.jobId ? job : j)) } : p));
  }, []);
  useJobWatches(client, active, onJob);

  // Jobs beyond the watched few, and new jobs, show up by refreshing the page.
  const unwatched = active.length > MAX_WATCHES;
  useEffect(() => {
    const timer = setInterval(() => setReload((r) => r + 1), unwatched ? 3000 : 15000);
    return () => clearInterval(timer);
  }, [unwatched]);

  async function cancel(job: Job) {
    setActionError(null);
    try {
      const updated = await client.post<Job>(`/v1/jobs/${encodeURIComponent(job.jobId ?? '')}:cancel`, {});
      onJob(updated);
    } catch (e) {
      setActionError(e);
    }
  }

  return (
    <>
      <div className="page-head">
        <h1>Jobs</h1>
        {canWrite && (
          <a className="button primary" href="#/upload">
            New batch
          </a>
        )}
      </div>
      <div className="toolbar">
        <label>
          State{' '}
          <select
            value={stateFilter}
            onChange={(e) => {
              setStateFilter(e.target.value);
              setTokens(firstPage);
            }}
          >
            <option value="">All states</option>
            {JOB_STATES.map((s) => (
              <option key={s} value={s}>
                {stateLabel(s)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Name{' '}
          <input
            type="search"
            value={nameFilter}
            placeholder="contains…"
            maxLength={200}
            onChange={(e) => {
              setNameFilter(e.target.value);
              setTokens(firstPage);
            }}
          />
        </label>
        <PageSizeSelect
          value={pageSize}
          onChange={(size) => {
            setPageSize(size);
            setTokens(firstPage);
          }}
        />
        <button type="button" onClick={() => setReload((r) => r + 1)}>
          Refresh
        </button>
      </div>
      <ErrorMessage error={error} />
      <ErrorMessage error={actionError} title="The job was not cancelled" />
      {page && jobs.length === 0 && (
        <p className="empty">
          {stateFilter || nameQuery
            ? `No ${stateFilter ? stateLabel(stateFilter).toLowerCase() + ' ' : ''}jobs${nameQuery ? ` named like “${nameQuery}”` : ''}.`
            : 'No jobs yet.'}
          {canWrite && !stateFilter && !nameQuery && (
            <>
              {' '}
              <a href="#/upload">Upload a batch</a> to start.
            </>
          )}
        </p>
      )}
      {jobs.length > 0 && (
        <div className="table-wrap">
          <table className="data jobs-table">
            <caption className="visually-hidden">Jobs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">State</th>
                <th scope="col">Progress</th>
                <th scope="col" className="num">Molecules</th>
                <th scope="col" className="num">Valid</th>
                <th scope="col" className="num">Invalid</th>
                <th scope="col" className="num">Priority</th>
                <th scope="col">Created</th>
                {canWrite && <th scope="col"><span className="visually-hidden">Actions</span></th>}
              </tr>
            </thead>
            <tbody>
              {jobs.map((job) => (
                <JobRow key={job.jobId} job={job} canWrite={canWrite} onCancel={cancel} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav className="pager" aria-label="Jobs pages">
        <button type="button" disabled={tokens.previous.length === 0} onClick={() => setTokens(previousPage(tokens))}>
          Previous
        </button>
        <span>Page {pageNumber(tokens)}</span>
        <button type="button" disabled={!page?.nextPageToken} onClick={() => page?.nextPageToken && setTokens(nextPage(tokens, page.nextPageToken))}>
          Next
        </button>
      </nav>
    </>
  );
}

function JobRow({ job, canWrite, onCancel }: { job: Job; canWrite: boolean; onCancel: (job: Job) => void }) {
  const name = job.displayName || job.jobId || '';
  const p = progress(job);
  return (
    <tr>
      <th scope="row" className="name">
        <a href={`#/jobs/${encodeURIComponent(job.jobId ?? '')}`}>{name}</a>
        {job.error && <div className={job.state === 'JOB_STATE_FAILED' ? 'row-error' : 'row-note'}>{job.error}</div>}
      </th>
      <td>
        <StateBadge state={job.state} />
      </td>
      <td className="progress-cell">
        <ProgressBar value={p} label={`Progress of ${name}`} text={`${count(job.processedMolecules)} / ${num(job.totalMolecules) ? count(job.totalMolecules) : '…'}`} />
      </td>
      <td className="num">{count(job.totalMolecules)}</td>
      <td className="num">{count(job.validMolecules)}</td>
      <td className="num">{count(job.invalidMolecules)}</td>
      <td className="num">{job.priority ?? 0}</td>
      <td>
        <time dateTime={job.createTime} title={job.createTime}>
          {age(job.createTime)}
        </time>
      </td>
      {canWrite && (
        <td>
          {isCancellable(job.state) && (
            <button type="button" className="small" onClick={() => onCancel(job)} aria-label={`Cancel ${name}`}>
              Cancel
            </button>
          )}
        </td>
      )}
    </tr>
  );
}
