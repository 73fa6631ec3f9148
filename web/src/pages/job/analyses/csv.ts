/** A small CSV file made in the browser and handed over as a download. */

function cell(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** The CSV text of a header and rows (RFC 4180 quoting). */
export function csvText(header: string[], rows: string[][]): string {
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

export function downloadCsv(fileName: string, header: string[], rows: string[][]): void {
  const url = URL.createObjectURL(new Blob([csvText(header, rows)], { type: 'text/csv' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
