import { Field } from './Field';
import { QUOTA_FIELDS, type QuotaText } from './fields';

/** The five quota inputs of a tenant form, each with its hint and the API's error for it. */
export function QuotaFields({ idPrefix, text, onChange, errors }: {
  idPrefix: string;
  text: QuotaText;
  onChange: (text: QuotaText) => void;
  errors: Record<string, string>;
}) {
  return (
    <fieldset>
      <legend>Quotas</legend>
      <p className="hint">Whole numbers. Empty or 0 takes the server&apos;s default.</p>
      <div className="quota-grid">
        {QUOTA_FIELDS.map((q) => (
          <Field
            key={q.name}
            id={`${idPrefix}-${q.name}`}
            label={q.label}
            hint={q.hint}
            inputMode="numeric"
            autoComplete="off"
            value={text[q.name]}
            onChange={(e) => onChange({ ...text, [q.name]: e.target.value })}
            error={errors[q.field]}
          />
        ))}
      </div>
    </fieldset>
  );
}
