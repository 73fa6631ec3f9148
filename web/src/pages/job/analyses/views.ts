/** The analyses views, in menu order: what the job page links to and the analyses page shows. */
export interface ViewName {
  view: string;
  title: string;
  /** The analysis it shows; none for a search or a plot of per-molecule values. */
  type?: string;
}

export const VIEW_NAMES: ViewName[] = [
  { view: 'statistics', type: 'statistics', title: 'Statistics' },
  { view: 'deduplication', type: 'deduplication', title: 'Duplicates' },
  { view: 'scaffolds', type: 'scaffolds', title: 'Scaffolds' },
  { view: 'chemical_space', type: 'chemical_space', title: 'Chemical space' },
  { view: 'similarity', title: 'Similarity search' },
  { view: 'substructure', title: 'Substructure search' },
  { view: 'nearest_neighbors', type: 'nearest_neighbors', title: 'Nearest neighbours' },
  { view: 'mmp', type: 'mmp', title: 'Matched pairs' },
  { view: 'cliffs', type: 'mmp', title: 'Activity cliffs' },
  { view: 'efficiency', title: 'Efficiency plane' },
  { view: 'rgroups', type: 'rgroups', title: 'R-groups' },
];
