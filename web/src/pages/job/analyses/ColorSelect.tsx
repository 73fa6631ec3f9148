/** The fields a plot can colour by: the descriptors, and each activity's metrics (names as ListResults' `orderBy`). */
import { ACTIVITY_METRICS, DESCRIPTOR_COLUMNS } from '../columns';

export interface Field {
  field: string;
  label: string;
}

/** Every numeric field of the job's molecules; activity metrics for each activity column. */
export function colourFields(activities: string[]): Field[] {
  const metrics = [...ACTIVITY_METRICS, { metric: 'bei', title: 'BEI, pActivity per kDa' }, { metric: 'sei', title: 'SEI, pActivity per 100 Å² TPSA' }];
  return [
    ...DESCRIPTOR_COLUMNS.map((c) => ({ field: c.sort ?? c.id, label: c.title })),
    { field: 'heavyAtoms', label: 'Heavy atoms' },
    ...activities.flatMap((name) => metrics.map((m) => ({ field: `activities.${name}.${m.metric}`, label: `${m.title} (${name})` }))),
  ];
}

export function ColorSelect({ fields, value, onChange, id }: { fields: Field[]; value: string; onChange: (field: string) => void; id: string }) {
  return (
    <span>
      <label htmlFor={id}>Colour by</label>{' '}
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">nothing (one colour)</option>
        {fields.map((f) => (
          <option key={f.field} value={f.field}>
            {f.label}
          </option>
        ))}
      </select>
    </span>
  );
}
