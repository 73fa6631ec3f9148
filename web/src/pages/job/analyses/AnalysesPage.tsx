/**
 * A job's analyses as pictures, one view at a time (`#/jobs/<id>/analyses/<view>`):
 * a menu of the views with each analysis's status, then the chosen view:
 * its status, its Run control (parameters from `GET /v1/analysisTypes`)
 * and, once complete, its plots and structures. Loaded lazily with the
 * charts, so the rest of the app does not pay for them.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError } from '../../../api/client';
import type { Analysis, Job, ListAnalysesResponse } from '../../../api/types';
import { href } from '../../../app/route';
import { useSession } from '../../../app/session';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { ProgressBar } from '../../../components/ProgressBar';
import { isRunning, useAnalysis, useAnalysisTypes, type AnalysisTypeInfo } from './api';
import { RunForm } from './RunForm';
import { ChemicalSpaceView } from './ChemicalSpaceView';
import { CliffsView } from './CliffsView';
import { DeduplicationView } from './DeduplicationView';
import { EfficiencyView } from './EfficiencyView';
import { MmpView } from './MmpView';
import { NearestNeighborsView } from './NearestNeighborsView';
import { RGroupsView } from './RGroupsView';
import { ScaffoldsView } from './ScaffoldsView';
import { SimilarityView } from './SimilarityView';
import { SubstructureView } from './SubstructureView';
import { StatisticsView } from './StatisticsView';
import { VIEW_NAMES, type ViewName } from './views';
import './analyses.css';

interface ViewInfo extends ViewName {
  render: (jobId: string, analysis: Analysis) => ReactNode;
}

/** What each view draws once its analysis is complete (the searches and the efficiency plane draw on their own). */
const RENDER: Record<string, ViewInfo['render']> = {
  statistics: (jobId, a) => <StatisticsView jobId={jobId} analysis={a} />,
  deduplication: (jobId, a) => <DeduplicationView jobId={jobId} analysis={a} />,
  scaffolds: (jobId, a) => <ScaffoldsView jobId={jobId} analysis={a} />,
  chemical_space: (jobId, a) => <ChemicalSpaceView jobId={jobId} analysis={a} />,
  nearest_neighbors: (jobId, a) => <NearestNeighborsView jobId={jobId} analysis={a} />,
  mmp: (jobId, a) => <MmpView jobId={jobId} analysis={a} />,
  cliffs: (jobId, a) => <CliffsView jobId={jobId} analysis={a} />,
  rgroups: (jobId, a) => <RGroupsView jobId={jobId} analysis={a} />,
};

const VIEWS: ViewInfo[] = VIEW_NAMES.map((v) => ({ ...v, render: RENDER[v.view] ?? (() => null) }));

const STATUS_LABELS: Record<string, string> = {
  ANALYSIS_STATUS_PENDING: 'Pending',
  ANALYSIS_STATUS_COMPUTING: 'Computing',
  ANALYSIS_STATUS_COMPLETE: 'Complete',
  ANALYSIS_STATUS_FAILED: 'Failed',
  ANALYSIS_STATUS_SKIPPED: 'Skipped',
};

/** An analysis status as a badge with its name; "Not run" when never requested. */
function StatusBadge({ analysis }: { analysis: Analysis | null | undefined }) {
  const status = analysis?.status;
  const name = status ? (STATUS_LABELS[status] ?? status) : 'Not run';
  const cls = status === 'ANALYSIS_STATUS_COMPLETE' ? 'completed' : status === 'ANALYSIS_STATUS_FAILED' ? 'failed' : isRunning(analysis) ? 'running' : 'cancelled';
  return <span className={`badge state-${cls}`}>{name}</span>;
}

/** `query` is the view's own state from the address (a substructure search's). */
export default function AnalysesPage({ jobId, view, query }: { jobId: string; view: string; query?: string }) {
  const { client } = useSession();
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [statuses, setStatuses] = useState<Map<string, Analysis>>(new Map());
  const { types } = useAnalysisTypes();
  const current = VIEWS.find((v) => v.view === view) ?? null;

  useEffect(() => {
    const controller = new AbortController();
    client
      .get<Job>(`/v1/jobs/${encodeURIComponent(jobId)}`, undefined, { signal: controller.signal })
      .then(setJob)
      .catch((e: unknown) => controller.signal.aborted || setError(e));
    return () => controller.abort();
  }, [client, jobId]);

  // The menu's statuses, fetched again whenever the view changes.
  useEffect(() => {
    const controller = new AbortController();
    client
      .get<ListAnalysesResponse>(`/v1/jobs/${encodeURIComponent(jobId)}/analyses`, undefined, { signal: controller.signal })
      .then((answer) => setStatuses(new Map((answer.analyses ?? []).map((a) => [a.type ?? '', a]))))
      .catch(() => undefined);
    return () => controller.abort();
  }, [client, jobId, view]);

  useEffect(() => {
    if (current) document.title = `${current.title} · molbatch`;
  }, [current]);

  if (error) {
    const notFound = error instanceof ApiError && error.status === 404;
    return (
      <>
        <h1>{notFound ? 'Job not found' : 'Analyses'}</h1>
        <ErrorMessage error={error} />
        <p>
          <a href="#/jobs">Back to your jobs</a>
        </p>
      </>
    );
  }
  // The view loads beside the job rather than after it: a job that turns out
  // not to be complete replaces it with a note.
  const name = job?.displayName || jobId;
  const notReady = job !== null && job.state !== 'JOB_STATE_COMPLETED';

  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <a href="#/jobs">Jobs</a> <span aria-hidden="true">›</span> <a href={href({ page: 'job', jobId })}>{name}</a> <span aria-hidden="true">›</span>{' '}
        <span>Analyses</span>
      </nav>
      <h1>{current ? current.title : 'Analyses'}</h1>
      <div className="analyses-layout">
        <nav aria-label="Analyses" className="analyses-menu">
          <ul>
            {VIEWS.map((v) => (
              <li key={v.view}>
                <a href={href({ page: 'analyses', jobId, view: v.view })} aria-current={v.view === view ? 'page' : undefined}>
                  <span>{v.title}</span>
                  {v.type && <StatusBadge analysis={statuses.get(v.type)} />}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="analyses-view">
          {notReady ? (
            <p className="notice">The analyses run once the job has completed.</p>
          ) : !current ? (
            <Overview jobId={jobId} statuses={statuses} types={types} />
          ) : current.view === 'similarity' ? (
            <SimilarityView jobId={jobId} />
          ) : current.view === 'substructure' ? (
            <SubstructureView jobId={jobId} query={query} />
          ) : current.view === 'efficiency' ? (
            <EfficiencyView jobId={jobId} />
          ) : (
            <AnalysisPanel
              key={current.view}
              jobId={jobId}
              view={current}
              info={types?.find((t) => t.type === current.type) ?? null}
              onChange={(a) => setStatuses((old) => (old.get(a.type ?? '')?.status === a.status ? old : new Map(old).set(a.type ?? '', a)))}
            />
          )}
        </div>
      </div>
    </>
  );
}

/** Every analysis with its status and what it computes. */
function Overview({ jobId, statuses, types }: { jobId: string; statuses: Map<string, Analysis>; types: AnalysisTypeInfo[] | null }) {
  return (
    <div className="table-wrap">
      <table className="data">
        <caption className="visually-hidden">Analyses of this job</caption>
        <thead>
          <tr>
            <th scope="col">View</th>
            <th scope="col">Status</th>
            <th scope="col">What it shows</th>
          </tr>
        </thead>
        <tbody>
          {VIEWS.map((v) => {
            const info = types?.find((t) => t.type === v.type);
            return (
              <tr key={v.view}>
                <th scope="row">
                  <a href={href({ page: 'analyses', jobId, view: v.view })}>{v.title}</a>
                </th>
                <td>{v.type ? <StatusBadge analysis={statuses.get(v.type)} /> : '–'}</td>
                <td>{info?.description ?? ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** One analysis: status, why it failed, the Run form, progress, then its view. */
function AnalysisPanel({ jobId, view, info, onChange }: { jobId: string; view: ViewInfo; info: AnalysisTypeInfo | null; onChange: (a: Analysis) => void }) {
  const { canWrite } = useSession();
  const type = view.type ?? '';
  const { analysis, loading, error, run } = useAnalysis(jobId, type);
  // The menu shows the status this panel sees.
  const changed = useRef(onChange);
  useEffect(() => {
    changed.current = onChange;
  });
  useEffect(() => {
    if (analysis) changed.current(analysis);
  }, [analysis]);
  // The analysis's own name (cliffs are the mmp analysis's).
  const title = info?.title ?? VIEW_NAMES.find((v) => v.type === type)?.title ?? view.title;
  const running = isRunning(analysis);
  return (
    <section aria-labelledby="analysis-heading">
      <div className="section-head">
        <h2 id="analysis-heading" className="h3">
          {title} <StatusBadge analysis={loading ? undefined : analysis} />
        </h2>
      </div>
      {info?.description && <p className="hint">{info.description}</p>}
      <ErrorMessage error={error} title={`${title} could not be loaded`} />
      {analysis?.status === 'ANALYSIS_STATUS_FAILED' && (
        <div className="error" role="alert">
          <p className="error-title">{title} failed</p>
          <p>{analysis.reason || 'No reason was given.'}</p>
        </div>
      )}
      {analysis?.status === 'ANALYSIS_STATUS_SKIPPED' && <p className="notice">Skipped: {analysis.reason || 'not applicable to this job.'}</p>}
      {!loading && !analysis && <p className="empty">{title} has not been run for this job.</p>}
      {canWrite && !loading && (
        <RunForm key={analysis?.updateTime ?? ''} info={info} title={title} last={analysis?.params} running={running} rerun={!!analysis} onRun={run} />
      )}
      {running && (
        <div className="analysis-progress" role="status">
          <ProgressBar value={null} label={`${title} progress`} text={analysis?.status === 'ANALYSIS_STATUS_PENDING' ? 'Waiting for a worker…' : 'Computing…'} />
        </div>
      )}
      {analysis?.status === 'ANALYSIS_STATUS_COMPLETE' && view.render(jobId, analysis)}
    </section>
  );
}
