import { useCallback, useEffect, useState } from 'react';
import { ApiError } from '../../api/client';
import type { Analysis, Job } from '../../api/types';
import { useSession } from '../../app/session';
import { ErrorMessage } from '../../components/ErrorMessage';
import { ProgressBar } from '../../components/ProgressBar';
import { StateBadge } from '../../components/StateBadge';
import { watchJob } from '../../components/watch';
import { age, count, fixed, isActive, isCancellable, isRetryable, num, progress, until } from '../../lib/format';
import { Exports } from './Exports';
import { FIRST_PAGE_SIZE, ResultsTable, THUMB } from './ResultsTable';
import { prefetchDepictions } from '../../components/depictions';
import { href, navigate } from '../../app/route';
import { VIEW_NAMES } from './analyses/views';

/** One job: its state and counts (live while it runs), quality, exports and results. */
export function JobPage({ jobId }: { jobId: string }) {
  const { client, canWrite } = useSession();
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [actionTitle, setActionTitle] = useState('');
  const [confirmingDelete, setConfirmingDelete] = useState(false);

  useEffect(() => {
    // The first page's structures are drawn while the job and its results load.
    prefetchDepictions(client, jobId, Array.from({ length: FIRST_PAGE_SIZE }, (_, i) => i), THUMB);
    const controller = new AbortController();
    client
      .get<Job>(`/v1/jobs/${encodeURIComponent(jobId)}`, undefined, { signal: controller.signal })
      .then(setJob)
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      });
    return () => controller.abort();
  }, [client, jobId]);

  const active = job ? isActive(job.state) : false;
  useEffect(() => {
    if (!active) return;
    const controller = new AbortController();
    watchJob(client, jobId, setJob, controller.signal);
    return () => controller.abort();
  }, [client, jobId, active]);

  /** Runs a button's request; its error is shown under `failure`. */
  async function act(failure: string, request: () => Promise<void>) {
    setActionError(null);
    setActionTitle(failure);
    try {
      await request();
    } catch (e) {
      setActionError(e);
    }
  }
  const path = `/v1/jobs/${encodeURIComponent(jobId)}`;
  const cancel = () =>
    act('The job was not cancelled', async () => setJob(await client.post<Job>(`${path}:cancel`, {})));
  const retry = () =>
    act('The job was not retried', async () => {
      const retried = await client.post<Job>(`${path}:retry`, {});
      navigate({ page: 'job', jobId: retried.jobId ?? '' });
    });
  const remove = () =>
    act('The job was not deleted', async () => {
      await client.delete(path);
      navigate({ page: 'jobs' });
    });

  if (error) {
    const notFound = error instanceof ApiError && error.status === 404;
    return (
      <>
        <h1>{notFound ? 'Job not found' : 'Job'}</h1>
        <ErrorMessage error={error} />
        <p>
          <a href="#/jobs">Back to your jobs</a>
        </p>
      </>
    );
  }
  if (!job) return <p aria-busy="true">Loading job…</p>;

  const name = job.displayName || job.jobId || jobId;
  const completed = job.state === 'JOB_STATE_COMPLETED';
  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <a href="#/jobs">Jobs</a> <span aria-hidden="true">›</span> <span>{name}</span>
      </nav>
      <div className="page-head">
        <h1>{name}</h1>
        <StateBadge state={job.state} />
        {canWrite && isCancellable(job.state) && (
          <button type="button" onClick={cancel}>
            Cancel job
          </button>
        )}
        {canWrite && isRetryable(job) && (
          <button type="button" onClick={retry} title="Run it again from its stored input, as a new job">
            Retry job
          </button>
        )}
        {canWrite && !confirmingDelete && (
          <button type="button" className="danger" onClick={() => setConfirmingDelete(true)}>
            Delete job
          </button>
        )}
      </div>
      {confirmingDelete && (
        <div className="confirm" role="alertdialog" aria-label="Delete this job?">
          <p>
            Delete <strong>{name}</strong>? Its input, results, analyses and exports are removed at once; this cannot be undone.
          </p>
          <button type="button" className="danger" onClick={remove}>
            Delete
          </button>{' '}
          <button type="button" onClick={() => setConfirmingDelete(false)}>
            Keep it
          </button>
        </div>
      )}
      <ErrorMessage error={actionError} title={actionTitle} />
      {job.retryOf && (
        <p className="retry-of">
          Retry of <a href={href({ page: 'job', jobId: job.retryOf })}>an earlier job</a>
        </p>
      )}
      {job.error &&
        (job.state === 'JOB_STATE_FAILED' ? (
          <div className="error" role="alert">
            <p>{job.error}</p>
          </div>
        ) : (
          <p className="notice">{job.error}</p>
        ))}
      <section className="job-summary" aria-label="Summary">
        <dl className="stats">
          <div>
            <dt>Molecules</dt>
            <dd>{num(job.totalMolecules) ? count(job.totalMolecules) : '…'}</dd>
          </div>
          <div>
            <dt>Valid</dt>
            <dd>{count(job.validMolecules)}</dd>
          </div>
          <div>
            <dt>Invalid</dt>
            <dd>{count(job.invalidMolecules)}</dd>
          </div>
          <div>
            <dt>Priority</dt>
            <dd>{job.priority ?? 0}</dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd>
              <time dateTime={job.createTime} title={job.createTime}>
                {age(job.createTime)}
              </time>
            </dd>
          </div>
          {job.state === 'JOB_STATE_QUEUED' && (
            <div>
              <dt>Queue</dt>
              <dd title="Tasks the workers take before this job's next one (tenants take turns)">
                {num(job.queuePosition) === 0 ? 'next' : `${count(job.queuePosition)} tasks ahead`}
              </dd>
            </div>
          )}
          {job.state === 'JOB_STATE_QUEUED' && job.estimatedStartTime && (
            <div>
              <dt>Expected start</dt>
              <dd>
                <time dateTime={job.estimatedStartTime} title={job.estimatedStartTime}>
                  {until(job.estimatedStartTime)}
                </time>
              </dd>
            </div>
          )}
          {active && job.estimatedEndTime && (
            <div>
              <dt>Expected end</dt>
              <dd>
                <time dateTime={job.estimatedEndTime} title={`${job.estimatedEndTime}; workers at ${count(Math.round(job.workersMoleculesPerSecond ?? 0))} molecules/s`}>
                  {until(job.estimatedEndTime)}
                </time>
              </dd>
            </div>
          )}
          <div>
            <dt>Quality score</dt>
            <dd>{completed ? <Quality jobId={jobId} /> : '–'}</dd>
          </div>
        </dl>
        <ProgressBar
          value={progress(job)}
          label="Job progress"
          text={`${count(job.processedMolecules)} of ${num(job.totalMolecules) ? count(job.totalMolecules) : '…'} molecules`}
        />
      </section>
      {completed && (
        <nav className="analyses-links" aria-label="Analyses of this job">
          <span>Analyses:</span>
          {VIEW_NAMES.map((v) => (
            <a key={v.view} href={href({ page: 'analyses', jobId, view: v.view })}>
              {v.title}
            </a>
          ))}
        </nav>
      )}
      {completed && canWrite && <Exports jobId={jobId} />}
      {(completed || num(job.processedMolecules) > 0) && <ResultsTable job={job} />}
    </>
  );
}

/** The batch quality score from the statistics analysis, "computing…" until it is ready. */
function Quality({ jobId }: { jobId: string }) {
  const { client } = useSession();
  const [analysis, setAnalysis] = useState<Analysis | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(
    (signal: AbortSignal) =>
      client.get<Analysis>(`/v1/jobs/${encodeURIComponent(jobId)}/analyses/statistics`, undefined, { signal, retries: 1 }),
    [client, jobId],
  );
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = () => {
      load(controller.signal)
        .then((a) => {
          setAnalysis(a);
          if (a.status === 'ANALYSIS_STATUS_PENDING' || a.status === 'ANALYSIS_STATUS_COMPUTING') timer = setTimeout(poll, 1500);
        })
        .catch((e: unknown) => {
          if (controller.signal.aborted) return;
          // Not requested yet right after completion: ask again shortly.
          if (e instanceof ApiError && e.status === 404) timer = setTimeout(poll, 1500);
          else setError(e);
        });
    };
    poll();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [load]);
  if (error) return <span title={error instanceof Error ? error.message : ''}>unavailable</span>;
  const q = analysis?.statistics?.quality;
  if (analysis?.status === 'ANALYSIS_STATUS_FAILED' || analysis?.status === 'ANALYSIS_STATUS_SKIPPED') {
    return <span title={analysis.reason}>not computed</span>;
  }
  if (!q) return <span>computing…</span>;
  return (
    <span
      title={`validity ${fixed(q.validityPercent, 1)}%, diversity ${fixed(q.diversityPercent, 1)}%, drug-likeness ${fixed(q.drugLikenessPercent, 1)}%`}
    >
      {fixed(q.score, 1)} / 100
    </span>
  );
}
