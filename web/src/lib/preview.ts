/**
 * A preview of an uploaded file's first records, read from its first bytes
 * only (a 200 MB file is never read whole): the format from the name, the
 * header and the first rows. The server parses the real file; this only
 * lets the user pick columns and see that the file is what they meant.
 */

export type FileFormat = 'smiles' | 'csv' | 'sdf';

export interface Preview {
  format: FileFormat;
  /** The CSV delimiter sniffed from the header, for csv. */
  delimiter?: string;
  /** Column names: the CSV header, `smiles`/`id` for SMILES files, `title` and the data fields for SDF. */
  header: string[];
  /** The first records, each with one cell per header column. */
  rows: string[][];
}

/** Bytes read from the start of a file for its preview. */
export const PREVIEW_BYTES = 64 * 1024;

/** The file's format and whether it is gzipped, from its name; null when unknown. */
export function formatOf(fileName: string): { format: FileFormat; gzip: boolean } | null {
  let name = fileName.toLowerCase();
  const gzip = name.endsWith('.gz');
  if (gzip) name = name.slice(0, -3);
  const ext = name.slice(name.lastIndexOf('.') + 1);
  switch (ext) {
    case 'smi':
    case 'smiles':
      return { format: 'smiles', gzip };
    case 'csv':
    case 'tsv':
    case 'txt':
      return { format: 'csv', gzip };
    case 'sdf':
    case 'sd':
      return { format: 'sdf', gzip };
    default:
      return null;
  }
}

/** The default name of a batch: the file name without `.gz` and extension. */
export function defaultName(fileName: string): string {
  return fileName.replace(/\.gz$/i, '');
}

const DELIMITERS = [',', '\t', ';', '|'];

/** The delimiter that occurs most often outside quotes in the header line. */
export function sniffDelimiter(headerLine: string): string {
  let best = ',';
  let bestCount = 0;
  for (const d of DELIMITERS) {
    let count = 0;
    let quoted = false;
    for (const ch of headerLine) {
      if (ch === '"') quoted = !quoted;
      else if (ch === d && !quoted) count++;
    }
    if (count > bestCount) {
      best = d;
      bestCount = count;
    }
  }
  return best;
}

/**
 * Splits delimited text into records (RFC 4180 quoting: `""` inside quotes
 * is a quote; quoted fields may hold line breaks). With `complete` false the
 * text was cut off, so its last record may be partial and is dropped.
 */
export function parseDelimited(text: string, delimiter: string, complete: boolean): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += ch;
      }
      i++;
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
    } else if (ch === delimiter) {
      record.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      record.push(field);
      field = '';
      if (!(record.length === 1 && record[0] === '')) records.push(record);
      record = [];
      if (ch === '\r' && text[i + 1] === '\n') i++;
    } else {
      field += ch;
    }
    i++;
  }
  if (complete && (field !== '' || record.length > 0)) {
    record.push(field);
    records.push(record);
  }
  return records;
}

function previewCsv(text: string, complete: boolean, maxRows: number): Preview {
  const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
  const delimiter = sniffDelimiter(firstLine);
  const records = parseDelimited(text, delimiter, complete);
  const header = records[0] ?? [];
  return { format: 'csv', delimiter, header, rows: records.slice(1, maxRows + 1) };
}

function completeLines(text: string, complete: boolean): string[] {
  const lines = text.split(/\r?\n/);
  if (!complete) lines.pop();
  return lines;
}

function previewSmiles(text: string, complete: boolean, maxRows: number): Preview {
  const rows: string[][] = [];
  for (const line of completeLines(text, complete)) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const [smiles = '', ...rest] = trimmed.split(/\s+/);
    rows.push([smiles, rest.join(' ')]);
    if (rows.length >= maxRows) break;
  }
  return { format: 'smiles', header: ['smiles', 'id'], rows };
}

function previewSdf(text: string, complete: boolean, maxRows: number): Preview {
  const chunks = text.split(/^\$\$\$\$\s*$/m);
  // The text after the last `$$$$` is a partial record unless the file ended there.
  const last = chunks.pop() ?? '';
  if (complete && last.trim() !== '') chunks.push(last);
  const header = ['title'];
  const records: Map<string, string>[] = [];
  for (const chunk of chunks.slice(0, maxRows)) {
    const lines = chunk.replace(/^\r?\n/, '').split(/\r?\n/);
    const fields = new Map<string, string>([['title', (lines[0] ?? '').trim()]]);
    for (let i = 0; i < lines.length; i++) {
      const m = /^>\s*.*<([^>]+)>/.exec(lines[i] ?? '');
      if (!m?.[1]) continue;
      const name = m[1];
      const values: string[] = [];
      for (i++; i < lines.length && (lines[i] ?? '').trim() !== ''; i++) values.push(lines[i] ?? '');
      fields.set(name, values.join('\n'));
      if (!header.includes(name)) header.push(name);
    }
    records.push(fields);
  }
  return { format: 'sdf', header, rows: records.map((r) => header.map((h) => r.get(h) ?? '')) };
}

/** A preview of `text`, the start of a file (`complete` when it is the whole file). */
export function parsePreview(format: FileFormat, text: string, complete: boolean, maxRows = 8): Preview {
  switch (format) {
    case 'csv':
      return previewCsv(text, complete, maxRows);
    case 'smiles':
      return previewSmiles(text, complete, maxRows);
    case 'sdf':
      return previewSdf(text, complete, maxRows);
  }
}

/**
 * Reads the start of a file as text: at most PREVIEW_BYTES of it, or of its
 * decompressed content for a gzip file (read through the browser's
 * DecompressionStream and stopped early). `complete` is true when the text
 * is the whole file.
 */
export async function readHead(file: Blob, gzip: boolean): Promise<{ text: string; complete: boolean }> {
  if (!gzip) {
    const slice = file.slice(0, PREVIEW_BYTES);
    return { text: await slice.text(), complete: file.size <= PREVIEW_BYTES };
  }
  // A gzip slice cut mid-stream ends with an error; what decoded before it is kept.
  const compressed = file.slice(0, PREVIEW_BYTES);
  const reader = compressed.stream().pipeThrough(new DecompressionStream('gzip')).getReader();
  const decoder = new TextDecoder();
  let text = '';
  let complete = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        complete = file.size <= PREVIEW_BYTES;
        break;
      }
      text += decoder.decode(value, { stream: true });
      if (text.length >= PREVIEW_BYTES) break;
    }
  } catch (e) {
    if (text === '') throw new Error(`this file does not read as gzip: ${String(e)}`, { cause: e });
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return { text, complete };
}

const SMILES_NAMES = ['smiles', 'canonical_smiles', 'smi', 'structure'];
/** Standard InChI columns, taken when no SMILES column is there (the server reads `InChI=` text). */
const INCHI_NAMES = ['inchi', 'standard_inchi'];
const ID_NAMES = ['id', 'name', 'compound_id', 'molecule_chembl_id', 'chembl_id', 'title', 'mol_id'];

/** The column the server takes for the structure by default (case-insensitive), if any. */
export function guessSmilesColumn(header: string[]): string {
  const named = (names: string[]) => header.find((h) => names.includes(h.trim().toLowerCase()));
  return named(SMILES_NAMES) ?? named(INCHI_NAMES) ?? '';
}

/** A likely id column, if any. */
export function guessIdColumn(header: string[]): string {
  return header.find((h) => ID_NAMES.includes(h.trim().toLowerCase())) ?? '';
}

/** The activity unit a column name states, e.g. `exp_mean [nM]` → nM; `pKi` → p. */
export function guessUnit(column: string): string {
  const m = /[[(]\s*(pM|nM|uM|µM|mM|M)\s*[\])]/.exec(column);
  if (m?.[1]) return m[1] === 'µM' ? 'uM' : m[1];
  if (/^p(ki|kd|ic50|ec50|activity|xc50|chembl)/i.test(column.trim())) return 'p';
  return 'nM';
}

/** Columns whose preview values are all numbers (activity candidates). */
export function numericColumns(preview: Preview): string[] {
  return preview.header.filter((_, i) => {
    const values = preview.rows.map((r) => (r[i] ?? '').trim()).filter((v) => v !== '');
    return values.length > 0 && values.every((v) => Number.isFinite(Number(v)));
  });
}
