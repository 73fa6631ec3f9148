import { useEffect, useRef, useState, type DragEvent, type FormEvent } from 'react';
import { ApiError } from '../../api/client';
import type { Job } from '../../api/types';
import { navigate } from '../../app/route';
import { useSession } from '../../app/session';
import { ErrorMessage } from '../../components/ErrorMessage';
import { ProgressBar } from '../../components/ProgressBar';
import { bytes } from '../../lib/format';
import {
  defaultName,
  formatOf,
  guessIdColumn,
  guessSmilesColumn,
  guessUnit,
  numericColumns,
  parsePreview,
  readHead,
  type FileFormat,
  type Preview,
} from '../../lib/preview';
import { uploadQuery, type ActivityChoice } from '../../lib/upload';

const UNITS = [
  { value: 'nM', label: 'nM' },
  { value: 'uM', label: 'µM' },
  { value: 'mM', label: 'mM' },
  { value: 'pM', label: 'pM' },
  { value: 'M', label: 'M' },
  { value: 'p', label: 'p (already −log10 M)' },
];

const ACCEPT = '.smi,.smiles,.csv,.tsv,.txt,.sdf,.sd,.gz';

/** Upload a batch file: pick or drop it, preview it, choose columns, send it streamed. */
export function UploadPage() {
  const { client, canWrite } = useSession();
  const [file, setFile] = useState<File | null>(null);
  const [format, setFormat] = useState<FileFormat>('csv');
  const [preview, setPreview] = useState<Preview | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [priority, setPriority] = useState(0);
  const [smilesColumn, setSmilesColumn] = useState('');
  const [idColumn, setIdColumn] = useState('');
  const [activities, setActivities] = useState<ActivityChoice[]>([]);
  const [skipBadRecords, setSkipBadRecords] = useState(false);
  const [sent, setSent] = useState<{ sent: number; total: number } | null>(null);
  const [uploadError, setUploadError] = useState<unknown>(null);
  const [dragging, setDragging] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  const abort = useRef<AbortController | null>(null);

  useEffect(() => () => abort.current?.abort(), []);

  async function choose(f: File) {
    setFile(f);
    setName(defaultName(f.name));
    setPreview(null);
    setPreviewError(null);
    setUploadError(null);
    setSent(null);
    const kind = formatOf(f.name);
    const fmt = kind?.format ?? 'csv';
    setFormat(fmt);
    if (!kind) {
      setPreviewError(new Error(`"${f.name}" does not end in .smi, .csv, .tsv or .sdf (optionally .gz). Choose the format below.`));
    }
    try {
      const gzip = kind?.gzip ?? false;
      const head = await readHead(f, gzip);
      const p = parsePreview(fmt, head.text, head.complete);
      setPreview(p);
      setSmilesColumn(fmt === 'csv' ? guessSmilesColumn(p.header) || p.header[0] || '' : '');
      setIdColumn(fmt === 'sdf' ? '' : fmt === 'csv' ? guessIdColumn(p.header) : '');
      setActivities([]);
    } catch (e) {
      setPreviewError(e);
    }
  }

  async function reparse(fmt: FileFormat) {
    setFormat(fmt);
    if (!file) return;
    try {
      const head = await readHead(file, formatOf(file.name)?.gzip ?? false);
      const p = parsePreview(fmt, head.text, head.complete);
      setPreview(p);
      setSmilesColumn(fmt === 'csv' ? guessSmilesColumn(p.header) || p.header[0] || '' : '');
    } catch (e) {
      setPreviewError(e);
    }
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!file) return;
    setUploadError(null);
    setSent({ sent: 0, total: file.size });
    const controller = new AbortController();
    abort.current = controller;
    // The server tells gzip from the bytes; the name keeps the file's own for the record.
    const query = uploadQuery({ format, displayName: name.trim() || file.name, smilesColumn, idColumn, priority, activities, skipBadRecords });
    try {
      const job = await client.upload<Job>(`/v1/jobs:upload?${query}`, file, (s, total) => setSent({ sent: s, total }), controller.signal);
      navigate({ page: 'job', jobId: job.jobId ?? '' });
    } catch (err) {
      setSent(null);
      if (!(err instanceof ApiError && err.code === 'CANCELLED')) setUploadError(err);
    } finally {
      abort.current = null;
    }
  }

  function onDrop(e: DragEvent) {
    e.preventDefault();
    setDragging(false);
    const f = e.dataTransfer.files[0];
    if (f) void choose(f);
  }

  if (!canWrite) {
    return (
      <>
        <h1>New batch</h1>
        <p>Your key has the viewer role: it can read jobs and results but not submit batches.</p>
      </>
    );
  }

  const header = preview?.header ?? [];
  const numeric = preview ? numericColumns(preview) : [];
  const uploading = sent !== null;

  return (
    <>
      <h1>New batch</h1>
      <div className="upload-layout">
        <form onSubmit={submit} className="upload-form" aria-label="New batch">
          <div
            className={`dropzone${dragging ? ' dragging' : ''}`}
            onDragOver={(e) => {
              e.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={onDrop}
          >
            <p>
              Drop a file here, or{' '}
              <button type="button" onClick={() => inputRef.current?.click()}>
                choose a file
              </button>
            </p>
            <p className="hint">SMILES (.smi), CSV or TSV with a header, or SD file (.sdf); each may be gzipped (.gz).</p>
            <label className="visually-hidden" htmlFor="file-input">
              Batch file
            </label>
            <input
              id="file-input"
              ref={inputRef}
              className="visually-hidden"
              type="file"
              accept={ACCEPT}
              onChange={(e) => {
                const f = e.target.files?.[0];
                if (f) void choose(f);
              }}
            />
            {file && (
              <p className="chosen">
                <strong>{file.name}</strong> · {bytes(file.size)}
              </p>
            )}
          </div>

          {file && (
            <fieldset disabled={uploading}>
              <legend>Options</legend>
              <div className="field-grid">
                <div className="field">
                  <label htmlFor="upload-name">Name</label>
                  <input id="upload-name" value={name} onChange={(e) => setName(e.target.value)} />
                </div>
                <div className="field">
                  <label htmlFor="upload-format">Format</label>
                  <select id="upload-format" value={format} onChange={(e) => void reparse(e.target.value as FileFormat)}>
                    <option value="smiles">SMILES</option>
                    <option value="csv">CSV / TSV</option>
                    <option value="sdf">SD file</option>
                  </select>
                </div>
                <div className="field">
                  <label htmlFor="upload-priority">Priority</label>
                  <select id="upload-priority" value={priority} onChange={(e) => setPriority(Number(e.target.value))}>
                    {Array.from({ length: 10 }, (_, i) => (
                      <option key={i} value={i}>
                        {i}
                        {i === 0 ? ' (default)' : i === 9 ? ' (highest)' : ''}
                      </option>
                    ))}
                  </select>
                </div>
                {format === 'csv' && (
                  <div className="field">
                    <label htmlFor="upload-smiles-column">SMILES column</label>
                    <select id="upload-smiles-column" value={smilesColumn} onChange={(e) => setSmilesColumn(e.target.value)}>
                      {header.map((h) => (
                        <option key={h} value={h}>
                          {h}
                        </option>
                      ))}
                    </select>
                  </div>
                )}
                {format !== 'smiles' && (
                  <div className="field">
                    <label htmlFor="upload-id-column">{format === 'sdf' ? 'Id field' : 'Id column'}</label>
                    <select id="upload-id-column" value={idColumn} onChange={(e) => setIdColumn(e.target.value)}>
                      <option value="">{format === 'sdf' ? '(the title line)' : '(none)'}</option>
                      {header
                        .filter((h) => !(format === 'sdf' && h === 'title'))
                        .map((h) => (
                          <option key={h} value={h}>
                            {h}
                          </option>
                        ))}
                    </select>
                  </div>
                )}
              </div>
              {format !== 'smiles' && (
                <div className="activities">
                  <h2 className="h3">Activity columns</h2>
                  <p className="hint">Each becomes a pActivity with its ligand-efficiency metrics (LE, LLE, BEI, SEI…).</p>
                  {activities.map((a, i) => (
                    <div className="activity-row" key={i}>
                      <div className="field">
                        <label htmlFor={`activity-column-${i}`}>Activity column {i + 1}</label>
                        <select
                          id={`activity-column-${i}`}
                          value={a.column}
                          onChange={(e) => {
                            const column = e.target.value;
                            setActivities(activities.map((x, j) => (j === i ? { column, unit: guessUnit(column) } : x)));
                          }}
                        >
                          {header.map((h) => (
                            <option key={h} value={h}>
                              {h}
                            </option>
                          ))}
                        </select>
                      </div>
                      <div className="field">
                        <label htmlFor={`activity-unit-${i}`}>Unit of activity column {i + 1}</label>
                        <select id={`activity-unit-${i}`} value={a.unit} onChange={(e) => setActivities(activities.map((x, j) => (j === i ? { ...x, unit: e.target.value } : x)))}>
                          {UNITS.map((u) => (
                            <option key={u.value} value={u.value}>
                              {u.label}
                            </option>
                          ))}
                        </select>
                      </div>
                      <button type="button" className="small" onClick={() => setActivities(activities.filter((_, j) => j !== i))}>
                        Remove
                      </button>
                    </div>
                  ))}
                  <button
                    type="button"
                    onClick={() => {
                      const column = numeric.find((c) => !activities.some((a) => a.column === c)) ?? header[0] ?? '';
                      setActivities([...activities, { column, unit: guessUnit(column) }]);
                    }}
                    disabled={header.length === 0}
                  >
                    Add activity column
                  </button>
                </div>
              )}
              <div className="field checkbox-field">
                <input id="upload-skip-bad-records" type="checkbox" checked={skipBadRecords} onChange={(e) => setSkipBadRecords(e.target.checked)} aria-describedby="upload-skip-bad-records-hint" />
                <label htmlFor="upload-skip-bad-records">Skip bad records</label>
                <p className="hint" id="upload-skip-bad-records-hint">
                  A row or record the server cannot read becomes an invalid result (RECORD_SYNTAX, with its line) instead of refusing the whole file.
                </p>
              </div>
              <div className="submit-row">
                <button type="submit" className="primary" disabled={uploading}>
                  {uploading ? 'Uploading…' : 'Upload and start'}
                </button>
              </div>
            </fieldset>
          )}
          {uploading && sent && (
            <div className="upload-progress">
              <ProgressBar
                value={sent.total ? sent.sent / sent.total : null}
                label="Upload progress"
                text={`${bytes(sent.sent)} of ${bytes(sent.total)}`}
              />
              <button type="button" onClick={() => abort.current?.abort()}>
                Stop upload
              </button>
            </div>
          )}
          <ErrorMessage error={uploadError} title="The server refused this file" />
        </form>

        <section className="preview" aria-labelledby="preview-heading">
          <h2 id="preview-heading">Preview</h2>
          <ErrorMessage error={previewError} />
          {!file && <p className="empty">Choose a file to see its first rows.</p>}
          {preview && preview.rows.length === 0 && <p className="empty">No complete rows in the start of this file.</p>}
          {preview && preview.rows.length > 0 && (
            <div className="table-wrap">
              <table className="data preview-table">
                <caption className="visually-hidden">First rows of the file</caption>
                <thead>
                  <tr>
                    {preview.header.map((h, i) => (
                      <th scope="col" key={i}>
                        {h}
                        {h === smilesColumn && format === 'csv' && <span className="tag">SMILES</span>}
                        {h === idColumn && <span className="tag">id</span>}
                        {activities.some((a) => a.column === h) && <span className="tag">activity</span>}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {preview.rows.map((row, r) => (
                    <tr key={r}>
                      {preview.header.map((_, c) => (
                        <td key={c} title={row[c]}>
                          {row[c]}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {preview?.delimiter && (
            <p className="hint">
              Delimiter: <code>{preview.delimiter === '\t' ? 'tab' : preview.delimiter}</code>
            </p>
          )}
        </section>
      </div>
    </>
  );
}
