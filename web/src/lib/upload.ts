/** The upload's query string: UploadOptions fields as query parameters. */
import type { FileFormat } from './preview';

export interface ActivityChoice {
  column: string;
  unit: string;
}

export function uploadQuery(o: {
  format: FileFormat;
  displayName: string;
  smilesColumn: string;
  idColumn: string;
  priority: number;
  activities: ActivityChoice[];
  /** Keep unreadable records as RECORD_SYNTAX results instead of refusing the file. */
  skipBadRecords?: boolean;
}): string {
  const params = new URLSearchParams();
  params.set('format', o.format);
  if (o.displayName) params.set('displayName', o.displayName);
  if (o.format === 'csv' && o.smilesColumn) params.set('smilesColumn', o.smilesColumn);
  if (o.idColumn && o.format !== 'smiles') params.set('idColumn', o.idColumn);
  if (o.priority) params.set('priority', String(o.priority));
  if (o.skipBadRecords) params.set('onBadRecord', 'skip');
  for (const a of o.format === 'smiles' ? [] : o.activities) {
    if (a.column) params.append('activityColumns', JSON.stringify({ column: a.column, unit: a.unit }));
  }
  return params.toString();
}

