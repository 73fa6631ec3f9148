/**
 * The results table's columns: what each shows and the server field it
 * sorts by (ListResults `orderBy`).
 */
import type { ActivityResult, MoleculeResult } from '../../api/types';
import { fixed } from '../../lib/format';

export interface Column {
  id: string;
  label: string;
  /** A longer name for the header's title and screen readers. */
  title: string;
  /** The `orderBy` field; absent when the column does not sort. */
  sort?: string;
  numeric: boolean;
  value: (r: MoleculeResult) => string;
}

type NumericField = { [K in keyof MoleculeResult]-?: NonNullable<MoleculeResult[K]> extends number ? K : never }[keyof MoleculeResult];

function descriptor(id: NumericField, label: string, title: string, digits: number): Column {
  return {
    id,
    label,
    title,
    sort: id,
    numeric: true,
    value: (r) => {
      const v = r[id];
      return v === undefined ? '' : digits < 0 ? String(v) : fixed(v, digits);
    },
  };
}

export const DESCRIPTOR_COLUMNS: Column[] = [
  descriptor('molWt', 'MW', 'Molecular weight, g/mol', 1),
  descriptor('logp', 'logP', 'Wildman–Crippen logP', 2),
  descriptor('tpsa', 'TPSA', 'Topological polar surface area, Å²', 1),
  descriptor('hbd', 'HBD', 'Hydrogen-bond donors', -1),
  descriptor('hba', 'HBA', 'Hydrogen-bond acceptors', -1),
  descriptor('rotatableBonds', 'RotB', 'Rotatable bonds', -1),
  descriptor('qed', 'QED', 'Quantitative estimate of drug-likeness, 0–1', 3),
  descriptor('lipinskiViolations', 'Ro5', 'Lipinski rule-of-five violations', -1),
];

export const ACTIVITY_METRICS: { key: keyof ActivityResult; metric: string; label: string; title: string }[] = [
  { key: 'pActivity', metric: 'pActivity', label: 'pAct', title: 'pActivity, −log10 molar' },
  { key: 'le', metric: 'le', label: 'LE', title: 'Ligand efficiency, kcal/mol per heavy atom' },
  { key: 'lle', metric: 'lle', label: 'LLE', title: 'Lipophilic ligand efficiency, pActivity − logP' },
];

export function activityColumns(names: string[]): Column[] {
  return names.flatMap((name) =>
    ACTIVITY_METRICS.map((m) => ({
      id: `activities.${name}.${m.metric}`,
      // With several activities each header names its own.
      label: names.length > 1 ? `${m.label} ${name}` : m.label,
      title: `${m.title} (${name})`,
      sort: `activities.${name}.${m.metric}`,
      numeric: true,
      value: (r: MoleculeResult) => {
        const a = r.activities?.find((x) => x.column === name);
        if (!a) return '';
        const v = a[m.key];
        return v === undefined || v === null ? (m.key === 'pActivity' && a.error ? 'error' : '') : fixed(v, 2);
      },
    })),
  );
}

/** The names of the activity columns seen in a page of results, in first-seen order. */
export function activityNames(results: MoleculeResult[]): string[] {
  const names: string[] = [];
  for (const r of results) for (const a of r.activities ?? []) if (a.column && !names.includes(a.column)) names.push(a.column);
  return names;
}

/** The `orderBy` text of a sort: `field` or `field desc`. */
export function orderBy(sort: { field: string; desc: boolean } | null): string {
  if (!sort) return '';
  return sort.desc ? `${sort.field} desc` : sort.field;
}

export const FILTERS: { value: string; label: string }[] = [
  { value: '', label: 'All molecules' },
  { value: 'valid', label: 'Valid' },
  { value: 'invalid', label: 'Invalid' },
  { value: 'pains', label: 'PAINS' },
  { value: 'alerts', label: 'Any alert' },
  { value: 'lipinski', label: 'Lipinski violations' },
];
