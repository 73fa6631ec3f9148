/**
 * The Run control of an analysis: a form generated from the parameters
 * `GET /v1/analysisTypes` describes (choices as selects, numbers with their
 * bounds, text as text), filled with the last run's values or the defaults.
 * The server validates; its refusal, naming the field, shows under the form.
 */
import { useId, useState, type FormEvent } from 'react';
import { ErrorMessage } from '../../../components/ErrorMessage';
import type { AnalysisTypeInfo, ParamInfo } from './api';

export function RunForm({ info, title, last, running, rerun, onRun }: {
  /** The type's description; null when the server did not say (no fields then). */
  info: AnalysisTypeInfo | null;
  title: string;
  /** The parameters of the last run. */
  last: Record<string, string> | undefined;
  running: boolean;
  /** True when a run exists: the button says "Run again". */
  rerun: boolean;
  onRun: (params: Record<string, string>) => Promise<void>;
}) {
  const params = info?.params ?? [];
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(params.map((p) => [p.name ?? '', last?.[p.name ?? ''] ?? p.defaultValue ?? ''])),
  );
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      // Empty fields are left out: the server applies its defaults.
      await onRun(Object.fromEntries(Object.entries(values).filter(([, v]) => v.trim() !== '')));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="run-form" onSubmit={(e) => void submit(e)} aria-label={`Run ${title}`}>
      {params.length > 0 && (
        <div className="run-params">
          {params.map((p) => (
            <ParamField key={p.name} id={`${id}-${p.name}`} param={p} value={values[p.name ?? ''] ?? ''} onChange={(v) => setValues((old) => ({ ...old, [p.name ?? '']: v }))} />
          ))}
        </div>
      )}
      <button type="submit" className="primary" disabled={busy || running}>
        {running ? 'Running…' : busy ? 'Starting…' : rerun ? `Run ${title.toLowerCase()} again` : `Run ${title.toLowerCase()}`}
      </button>
      <ErrorMessage error={error} title={`${title} was not started`} />
    </form>
  );
}

function ParamField({ id, param, value, onChange }: { id: string; param: ParamInfo; value: string; onChange: (v: string) => void }) {
  const hint = param.description ? `${id}-hint` : undefined;
  const label = (param.name ?? '').replace(/_/g, ' ');
  let input;
  if (param.kind === 'KIND_CHOICE' && param.choices?.length) {
    input = (
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)} aria-describedby={hint}>
        {!param.defaultValue && <option value="">default</option>}
        {param.choices.map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
    );
  } else if (param.kind === 'KIND_INTEGER' || param.kind === 'KIND_NUMBER') {
    input = (
      <input
        id={id}
        type="number"
        inputMode={param.kind === 'KIND_INTEGER' ? 'numeric' : 'decimal'}
        step={param.kind === 'KIND_INTEGER' ? 1 : 'any'}
        min={param.min}
        max={param.max}
        value={value}
        placeholder={param.defaultValue}
        onChange={(e) => onChange(e.target.value)}
        aria-describedby={hint}
      />
    );
  } else {
    input = <input id={id} type="text" value={value} placeholder={param.defaultValue} onChange={(e) => onChange(e.target.value)} aria-describedby={hint} spellCheck={false} />;
  }
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {input}
      {param.description && (
        <span id={hint} className="hint">
          {param.description}
        </span>
      )}
    </div>
  );
}
