import { useEffect, useState } from 'react';
import type { Client } from '../../api/client';
import type { ActivityResult, Job, MoleculeResult } from '../../api/types';
import { href } from '../../app/route';
import { useSession } from '../../app/session';
import { useDepiction } from '../../components/depictions';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Structure } from '../../components/Structure';
import { fixed } from '../../lib/format';

const LARGE = { width: 480, height: 360 };

/** One molecule's result: `GET /v1/jobs/{id}/results/{index}`. */
function loadResult(client: Client, jobId: string, index: number, signal: AbortSignal): Promise<MoleculeResult> {
  return client.get<MoleculeResult>(`/v1/jobs/${encodeURIComponent(jobId)}/results/${index}`, undefined, { signal });
}

const DESCRIPTORS: { key: keyof MoleculeResult; label: string; digits: number; unit?: string }[] = [
  { key: 'molWt', label: 'Molecular weight', digits: 2, unit: 'g/mol' },
  { key: 'exactMolWt', label: 'Exact mass', digits: 4, unit: 'g/mol' },
  { key: 'logp', label: 'logP (Crippen)', digits: 2 },
  { key: 'tpsa', label: 'TPSA', digits: 1, unit: 'Å²' },
  { key: 'hbd', label: 'H-bond donors', digits: -1 },
  { key: 'hba', label: 'H-bond acceptors', digits: -1 },
  { key: 'rotatableBonds', label: 'Rotatable bonds', digits: -1 },
  { key: 'ringCount', label: 'Rings', digits: -1 },
  { key: 'aromaticRings', label: 'Aromatic rings', digits: -1 },
  { key: 'fractionCsp3', label: 'Fraction Csp3', digits: 3 },
  { key: 'heavyAtoms', label: 'Heavy atoms', digits: -1 },
  { key: 'formalCharge', label: 'Formal charge', digits: -1 },
  { key: 'qed', label: 'QED', digits: 3 },
  { key: 'lipinskiViolations', label: 'Lipinski violations', digits: -1 },
];

const METRICS: { key: keyof ActivityResult; label: string; title: string }[] = [
  { key: 'pActivity', label: 'pActivity', title: '−log10 of the molar value' },
  { key: 'le', label: 'LE', title: 'Ligand efficiency, 1.37·pActivity / heavy atoms' },
  { key: 'lle', label: 'LLE', title: 'Lipophilic ligand efficiency, pActivity − logP' },
  { key: 'bei', label: 'BEI', title: 'Binding efficiency index, pActivity / MW in kDa' },
  { key: 'sei', label: 'SEI', title: 'Surface efficiency index, pActivity / (TPSA / 100 Å²)' },
  { key: 'nsei', label: 'NSEI', title: 'pActivity / number of N and O atoms' },
  { key: 'nbei', label: 'NBEI', title: 'pActivity + log10(heavy atoms)' },
  { key: 'efficiencyModulus', label: 'Modulus', title: 'Distance from the origin of the SEI–BEI plane' },
  { key: 'efficiencyAngle', label: 'Angle (°)', title: 'Angle of (SEI, BEI) in the efficiency plane' },
];

export function MoleculePage({ jobId, index }: { jobId: string; index: number }) {
  const { client } = useSession();
  const [result, setResult] = useState<MoleculeResult | null>(null);
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [alert, setAlert] = useState('');

  useEffect(() => {
    const controller = new AbortController();
    loadResult(client, jobId, index, controller.signal)
      .then(setResult)
      .catch((e: unknown) => !controller.signal.aborted && setError(e));
    client
      .get<Job>(`/v1/jobs/${encodeURIComponent(jobId)}`, undefined, { signal: controller.signal })
      .then(setJob)
      .catch(() => undefined);
    return () => controller.abort();
  }, [client, jobId, index]);

  const depiction = useDepiction(client, jobId, index, LARGE, alert);
  const jobName = job?.displayName || jobId;

  const crumbs = (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <a href="#/jobs">Jobs</a> <span aria-hidden="true">›</span> <a href={href({ page: 'job', jobId })}>{jobName}</a>{' '}
      <span aria-hidden="true">›</span> <span>Molecule {index}</span>
    </nav>
  );
  if (error) {
    return (
      <>
        {crumbs}
        <h1>Molecule {index}</h1>
        <ErrorMessage error={error} />
      </>
    );
  }
  if (!result) {
    return (
      <>
        {crumbs}
        <p aria-busy="true">Loading molecule…</p>
      </>
    );
  }

  const smiles = result.standardizedSmiles || result.canonicalSmiles || result.inputSmiles || '';
  const alerts = result.alerts ?? [];
  const properties = Object.entries(result.properties ?? {});
  const activities = result.activities ?? [];
  const inchi = result as { inchi?: string; inchiKey?: string };

  return (
    <>
      {crumbs}
      <div className="page-head">
        <h1>
          Molecule {index}
          {result.inputId ? ` · ${result.inputId}` : ''}
        </h1>
        <span className={`badge ${result.valid ? 'state-completed' : 'state-failed'}`}>{result.valid ? 'Valid' : 'Invalid'}</span>
        {result.pains && <span className="badge pains">PAINS</span>}
      </div>
      <nav className="pager" aria-label="Neighbouring molecules">
        {index > 0 && <a href={href({ page: 'molecule', jobId, index: index - 1 })}>← Molecule {index - 1}</a>}
        {(!job || index + 1 < Number(job.totalMolecules ?? 0)) && (
          <a href={href({ page: 'molecule', jobId, index: index + 1 })}>Molecule {index + 1} →</a>
        )}
      </nav>
      {!result.valid && (
        <div className="error" role="alert">
          <p>
            <strong>{result.errorCode}</strong>: {result.errorMessage}
          </p>
        </div>
      )}
      <div className="molecule-layout">
        <section aria-labelledby="structure-heading" className="panel">
          <h2 id="structure-heading">Structure{alert ? `: ${alert.slice(alert.indexOf(':') + 1)} highlighted` : ''}</h2>
          {result.valid ? (
            <Structure entry={depiction} smiles={smiles} width={LARGE.width} height={LARGE.height} className="large" />
          ) : (
            <p className="empty">An invalid molecule has no structure to draw.</p>
          )}
          <section aria-labelledby="alerts-heading">
            <h3 id="alerts-heading">Structural alerts</h3>
            {alerts.length === 0 ? (
              <p className="empty">No PAINS, Brenk or NIH alert matched.</p>
            ) : (
              <fieldset className="alert-list">
                <legend>Highlight an alert's matched atoms</legend>
                <label>
                  <input type="radio" name="alert" checked={alert === ''} onChange={() => setAlert('')} /> None
                </label>
                {alerts.map((a, i) => (
                  <label key={i}>
                    {/* CATALOG:name picks one catalog's entry where two share a name. */}
                    <input type="radio" name="alert" checked={alert === `${a.catalog}:${a.name}`} onChange={() => setAlert(`${a.catalog}:${a.name}`)} />{' '}
                    <span className="catalog">{a.catalog}</span> {a.name}
                  </label>
                ))}
              </fieldset>
            )}
          </section>
        </section>
        <section aria-labelledby="fields-heading" className="panel">
          <h2 id="fields-heading">Identity</h2>
          <dl className="fields">
            <Field label="Index" value={String(index)} />
            <Field label="Input id" value={result.inputId} />
            <Field label="Input SMILES" value={result.inputSmiles} code />
            <Field label="Canonical SMILES" value={result.canonicalSmiles} code />
            <Field label="Standardised SMILES" value={result.standardizedSmiles} code />
            <Field label="Tautomer SMILES" value={result.tautomerSmiles} code />
            {/* InChI and InChIKey are shown once ListResults/GetResult carry them. */}
            {inchi.inchi && <Field label="InChI" value={inchi.inchi} code />}
            {inchi.inchiKey && <Field label="InChIKey" value={inchi.inchiKey} code />}
            {!result.valid && <Field label="Error" value={`${result.errorCode ?? ''}: ${result.errorMessage ?? ''}`} />}
          </dl>
          <h2>Descriptors</h2>
          {result.valid ? (
            <table className="data compact">
              <caption className="visually-hidden">Descriptors of the standardised molecule</caption>
              <tbody>
                {DESCRIPTORS.map((d) => {
                  const v = result[d.key] as number | undefined;
                  return (
                    <tr key={d.key}>
                      <th scope="row">{d.label}</th>
                      <td className="num">
                        {v === undefined ? '–' : d.digits < 0 ? String(v) : fixed(v, d.digits)}
                        {v !== undefined && d.unit ? ` ${d.unit}` : ''}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          ) : (
            <p className="empty">None: the molecule is invalid.</p>
          )}
        </section>
      </div>
      {activities.length > 0 && (
        <section aria-labelledby="activities-heading">
          <h2 id="activities-heading">Activities and ligand efficiency</h2>
          <div className="table-wrap">
            <table className="data">
              <caption className="visually-hidden">Activities with their efficiency metrics</caption>
              <thead>
                <tr>
                  <th scope="col">Activity</th>
                  <th scope="col" className="num">Value</th>
                  <th scope="col">Unit</th>
                  {METRICS.map((m) => (
                    <th scope="col" className="num" key={m.key} title={m.title}>
                      {m.label}
                    </th>
                  ))}
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {activities.map((a, i) => (
                  <tr key={i}>
                    <th scope="row">{a.column}</th>
                    <td className="num">{a.value}</td>
                    <td>{a.unit}</td>
                    {METRICS.map((m) => (
                      <td className="num" key={m.key}>
                        {fixed(a[m.key] as number | undefined, 2)}
                      </td>
                    ))}
                    <td>{a.error}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
      {properties.length > 0 && (
        <section aria-labelledby="properties-heading">
          <h2 id="properties-heading">Other columns of the input</h2>
          <dl className="fields">
            {properties.map(([k, v]) => (
              <Field key={k} label={k} value={v} />
            ))}
          </dl>
        </section>
      )}
    </>
  );
}

function Field({ label, value, code }: { label: string; value: string | undefined; code?: boolean }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{value ? code ? <code className="wrap">{value}</code> : value : '–'}</dd>
    </div>
  );
}
