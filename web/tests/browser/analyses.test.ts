/**
 * The analyses as pictures, in a real Chromium against a real `molbatch
 * serve`: a 300-molecule job with an activity column is uploaded through the
 * app, then scaffolds (the grid and a scaffold's members), chemical space
 * (the points drawn equal the analysis's own, a hovered point shows its
 * structure, a box selection exported as CSV), matched pairs and activity
 * cliffs (the SALI plot's points equal the cliffs), and similarity search
 * (hits, and a bad SMILES answered naming the field), and the batch report
 * downloaded from the job page (the HTML opened with networking off, the
 * PDF a PDF). Every view is checked
 * with axe-core and screenshotted; a CSP refusal fails the test.
 */
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPage, createKey, fixture, launchBrowser, newPage, outDir, rest, startServer, type Server } from './harness';

/** Molecules uploaded: enough for pairs and cliffs, small enough to stay quick. */
const ROWS = 300;

let server: Server;
let browser: Browser;
let userKey: string;
let context: BrowserContext;
let page: Page;
let problems: string[];
let jobId = '';

interface Analysis {
  status?: string;
  reason?: string;
  scaffolds?: { scaffolds?: { key?: string; members?: number[] }[] };
  chemicalSpace?: { points?: { index?: number; coordinates?: number[] }[] };
  mmp?: {
    cliffs?: { a?: number; b?: number }[];
    // 64-bit integers arrive as strings.
    pairCount?: number | string;
    transformCount?: number | string;
    pairs?: unknown[];
    transforms?: { transform?: string; count?: number | string }[];
  };
}

const analysis = (type: string) => rest<Analysis>(server, userKey, 'GET', `/v1/jobs/${jobId}/analyses/${type}`);

/** Per-molecule values through the API, NaN where a molecule has none. */
async function values(...fields: string[]): Promise<number[][]> {
  const answer = await rest<{ columns?: { values?: (number | string)[] }[] }>(server, userKey, 'GET', `/v1/jobs/${jobId}/values?${fields.map((f) => `fields=${encodeURIComponent(f)}`).join('&')}`);
  return (answer.columns ?? []).map((c) => (c.values ?? []).map(Number));
}

/** The plots' viridis bands as RGB. */
const VIRIDIS: [number, number, number][] = ['#440154', '#46327e', '#365c8d', '#277f8e', '#1fa187', '#4ac16d', '#a0da39', '#fde725'].map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)) as [number, number, number]);
const ACTIVITY = 'exp_mean [nM]';

/** Opens a view of the job's analyses from the menu. */
async function openView(title: string) {
  await page.getByRole('navigation', { name: 'Analyses', exact: true }).getByRole('link', { name: new RegExp(`^${title}`) }).click();
  await page.getByRole('heading', { name: title, level: 1 }).waitFor();
}

/** Runs the open view's analysis from its Run control and waits for it to complete. */
async function run() {
  await page.getByRole('form', { name: /^Run / }).getByRole('button', { name: /^Run / }).click();
  await page.getByRole('heading', { level: 2 }).filter({ hasText: 'Complete' }).waitFor({ timeout: 90_000 });
}

/**
 * A point of a scatter plot, in page coordinates: the first canvas pixel
 * in the points' colour (the canvas is the page's own, so it can be read).
 */
async function pointOnPlot(plot: ReturnType<Page['locator']>, colours: [number, number, number][]): Promise<{ x: number; y: number }> {
  const canvas = plot.locator('canvas').first();
  // The canvas paints on an animation frame after the data is set: look until a point is there.
  const find = () => canvas.evaluate((c, wanted) => {
    const el = c as HTMLCanvasElement;
    const ctx = el.getContext('2d');
    if (!ctx) return null;
    const { data } = ctx.getImageData(0, 0, el.width, el.height);
    const ratio = el.width / el.getBoundingClientRect().width;
    // Below the legend (its swatches have the points' colours).
    for (let i = 4 * el.width * Math.round(56 * ratio); i < data.length; i += 4) {
      const close = (at: number, colour: number[]) => Math.abs((data[at] ?? 0) - (colour[0] ?? 0)) < 6 && Math.abs((data[at + 1] ?? 0) - (colour[1] ?? 0)) < 6 && Math.abs((data[at + 2] ?? 0) - (colour[2] ?? 0)) < 6;
      // The top of a whole point: this pixel and the one three rows down in its colour.
      const below = i + 4 * el.width * Math.round(3 * ratio);
      if (wanted.some((colour) => close(i, colour) && close(below, colour))) {
        const p = i / 4;
        // The middle of the point: a few pixels right and down of its first pixel row.
        return { x: (p % el.width) / ratio + 2, y: Math.floor(p / el.width) / ratio + 2 };
      }
    }
    return null;
  }, colours);
  const seen: { point: { x: number; y: number } | null } = { point: null };
  await expect.poll(async () => (seen.point = await find()) !== null, { message: 'no point drawn in the plot', timeout: 10_000 }).toBe(true);
  const found = seen.point;
  if (!found) throw new Error('no point drawn in the plot');
  const box = await canvas.boundingBox();
  if (!box) throw new Error('the plot has no box');
  return { x: box.x + found.x, y: box.y + found.y };
}

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  userKey = (await createKey(server, 'default', 'ROLE_USER', 'analyses test user')).secret;
  ({ context, page, problems } = await newPage(browser));
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

describe('the analyses as pictures', () => {
  it('uploads a small job with an activity column and links to its analyses', async () => {
    await page.goto(`${server.url}/#/jobs`);
    await page.getByLabel('API key').fill(userKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    const lines = readFileSync(fixture('chembl214_2000.csv'), 'utf8').split('\n');
    await page.goto(`${server.url}/#/upload`);
    await page.getByLabel('Batch file').setInputFiles({ name: 'chembl214_300.csv', mimeType: 'text/csv', buffer: Buffer.from(lines.slice(0, ROWS + 1).join('\n') + '\n') });
    await page.getByRole('table', { name: 'First rows of the file' }).waitFor();
    await page.getByRole('button', { name: 'Add activity column' }).click();
    await page.getByLabel('Activity column 1', { exact: true }).selectOption('exp_mean [nM]');
    await page.getByLabel('Unit of activity column 1').selectOption('nM');
    await page.getByRole('button', { name: 'Upload and start' }).click();
    await page.waitForURL(/#\/jobs\/[^/]+$/);
    jobId = decodeURIComponent(new URL(page.url()).hash.split('/')[2] ?? '');
    await page.getByText('Completed', { exact: true }).first().waitFor({ timeout: 90_000 });
    await page.getByRole('navigation', { name: 'Analyses of this job' }).getByRole('link', { name: 'Scaffolds' }).click();
    await page.getByRole('heading', { name: 'Scaffolds', level: 1 }).waitFor();
    expect(page.url()).toContain(`#/jobs/${jobId}/analyses/scaffolds`);
  });

  it('runs scaffolds: a grid of scaffold structures with counts, and a click lists the members', async () => {
    await run();
    const api = (await analysis('scaffolds')).scaffolds?.scaffolds ?? [];
    expect(api.length).toBeGreaterThan(1);
    const grid = page.getByRole('list', { name: /Murcko scaffolds, page 1/ });
    const cards = grid.getByRole('button', { name: /^Scaffold \d+:/ });
    await expect.poll(() => cards.count()).toBe(Math.min(40, api.length));
    // The largest first, with the analysis's own count.
    expect(await cards.first().getAttribute('aria-label')).toBe(`Scaffold 1: ${api[0]?.members?.length} molecules${api[0]?.key ? '' : ' (acyclic)'}`);
    await expect
      .poll(() => grid.locator('img').evaluateAll((imgs) => imgs.filter((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0).length), { timeout: 30_000 })
      .toBe(api.slice(0, 40).filter((g) => g.key).length);
    // The second scaffold (the first may be the acyclic one) lists its members.
    await cards.nth(1).click();
    const members = page.getByRole('list', { name: 'Members of scaffold 2' });
    const shown = Math.min(60, api[1]?.members?.length ?? 0);
    await expect.poll(() => members.getByRole('link', { name: /^Molecule \d+$/ }).count()).toBe(shown);
    await expect
      .poll(() => members.locator('img').evaluateAll((imgs) => imgs.filter((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0).length), { timeout: 30_000 })
      .toBe(shown);
    await checkPage(page, problems, 'a01-scaffolds');
  });

  it('runs chemical space: every point drawn, a hovered point shows its structure, a box selection exports as CSV', async () => {
    await openView('Chemical space');
    // The Run form's fields are the parameters the API lists.
    const types = await rest<{ types?: { type?: string; params?: { name?: string }[] }[] }>(server, userKey, 'GET', '/v1/analysisTypes');
    const params = types.types?.find((t) => t.type === 'chemical_space')?.params ?? [];
    expect(params.length).toBeGreaterThan(0);
    const form = page.getByRole('form', { name: /^Run / });
    for (const p of params) await form.getByLabel((p.name ?? '').replace(/_/g, ' '), { exact: true }).waitFor();
    await run();
    const points = ((await analysis('chemical_space')).chemicalSpace?.points ?? []).filter((p) => (p.coordinates ?? []).every(Number.isFinite));
    expect(points.length).toBeGreaterThan(ROWS * 0.9);
    const plot = page.getByRole('img', { name: 'Chemical space: PC1 against PC2' });
    await expect.poll(() => plot.getAttribute('data-drawn'), { timeout: 30_000 }).toBe(String(points.length));
    await page.getByText(`${points.length.toLocaleString('en-US')} molecules plotted`).waitFor();

    const at = await pointOnPlot(plot, [[11, 92, 173]]);
    await page.mouse.move(at.x, at.y);
    const card = page.getByRole('status', { name: /^Molecule \d+$/ });
    await card.waitFor();
    await expect.poll(() => card.locator('img').evaluate((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0), { timeout: 30_000 }).toBe(true);
    await checkPage(page, problems, 'a02-chemical-space-hover');

    await page.getByRole('button', { name: 'Box select' }).click();
    const box = await plot.boundingBox();
    if (!box) throw new Error('the plot has no box');
    // From corner to corner of the plotting area (inside the axes).
    await page.mouse.move(box.x + 66, box.y + 18);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 5 });
    await page.mouse.move(box.x + box.width - 26, box.y + box.height - 58, { steps: 5 });
    await page.mouse.up();
    await page.getByText(`${points.length.toLocaleString('en-US')} molecules selected`).waitFor();
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export selection (CSV)' }).click();
    const rows = readFileSync(await (await download).path(), 'utf8').trimEnd().split('\n');
    expect(rows[0]).toBe('index,id');
    expect(rows.slice(1).map((r) => Number(r.split(',')[0]))).toEqual(points.map((p) => Number(p.index)).sort((a, b) => a - b));
    await checkPage(page, problems, 'a03-chemical-space-selected');

    // Coloured by QED (values through the API): every point drawn again, in the viridis bands.
    const [qed = []] = await values('qed');
    expect(qed.filter(Number.isFinite).length).toBe(points.length);
    await page.getByLabel('Colour by').selectOption('qed');
    await expect.poll(() => plot.getAttribute('data-drawn'), { timeout: 30_000 }).toBe(String(points.length));
    const coloured = await pointOnPlot(plot, VIRIDIS);
    await page.mouse.move(coloured.x, coloured.y);
    await expect.poll(() => page.getByRole('status', { name: /^Molecule \d+$/ }).textContent()).toMatch(/drug-likeness, 0–1: \d\.\d\d/);
    await checkPage(page, problems, 'a03b-chemical-space-qed');
  });

  it('runs matched pairs: transforms sortable by count and mean Δp, a transform shows its pairs as structures', async () => {
    await openView('Matched pairs');
    await run();
    const mmp = (await analysis('mmp')).mmp;
    const transforms = mmp?.transforms ?? [];
    expect(transforms.length).toBeGreaterThan(0);
    // The stats count every pair and transform, not only those the result holds.
    const pairCount = Number(mmp?.pairCount ?? mmp?.pairs?.length ?? 0);
    const transformCount = Number(mmp?.transformCount ?? transforms.length);
    expect(pairCount).toBeGreaterThan(0);
    const stat = (term: string) => page.locator('.stats > div').filter({ has: page.getByRole('term').filter({ hasText: term }) }).getByRole('definition');
    expect(await stat('Matched pairs').textContent()).toBe(pairCount.toLocaleString('en-US'));
    expect(await stat('Transforms').textContent()).toBe(transformCount.toLocaleString('en-US'));
    const shortened = page.getByText(/^The table shows the [\d,]+ most frequent of [\d,]+ transforms\.$/);
    expect(await shortened.count()).toBe(transformCount > transforms.length ? 1 : 0);
    const table = page.getByRole('table', { name: /Transforms, sorted by count/ });
    await expect.poll(() => table.locator('tbody tr').count()).toBe(Math.min(25, transforms.length));
    await page.getByRole('button', { name: /^Mean ΔpActivity/ }).click();
    await page.getByRole('table', { name: /sorted by mean ΔpActivity/ }).waitFor();
    const first = page.getByRole('table').locator('tbody tr').first().getByRole('button');
    const name = (await first.textContent()) ?? '';
    await first.click();
    const pairs = page.locator('ul.pairs > li');
    await expect.poll(() => pairs.count()).toBeGreaterThan(0);
    await expect.poll(() => pairs.first().locator('img').evaluateAll((imgs) => imgs.filter((i) => (i as HTMLImageElement).naturalWidth > 0).length), { timeout: 30_000 }).toBe(2);
    const heading = page.getByRole('heading', { name: /^Pairs of/ });
    expect(await heading.textContent()).toContain(name);
    // Every pair of the transform is found.
    const expected = Number(transforms.find((t) => t.transform === name)?.count ?? 0);
    await expect.poll(() => heading.textContent()).toContain(`(${expected.toLocaleString('en-US')})`);
    await checkPage(page, problems, 'a04-mmp');
  });

  it("reads a transform's pairs from the pair pages when the result holds only the first ones", async () => {
    // A job too large for its result to hold every pair, played by this one's result with its
    // pairs cut off: the view must gather them from GET …/analyses/mmp/pairs.
    const result = (url: URL) => url.pathname === `/v1/jobs/${jobId}/analyses/mmp`;
    await page.route(result, async (route) => {
      const response = await route.fetch();
      const body = (await response.json()) as Analysis;
      await route.fulfill({ response, json: { ...body, mmp: { ...body.mmp, pairs: [] } } });
    });
    const pageRequests: string[] = [];
    const onRequest = (r: Request) => {
      if (new URL(r.url()).pathname === `/v1/jobs/${jobId}/analyses/mmp/pairs`) pageRequests.push(r.url());
    };
    page.on('request', onRequest);
    try {
      await page.reload();
      const [top] = (await analysis('mmp')).mmp?.transforms ?? [];
      const expected = Number(top?.count ?? 0);
      expect(expected).toBeGreaterThan(1);
      // Sorted by count: the most frequent transform is the first row.
      const first = page.getByRole('table', { name: /Transforms, sorted by count/ }).locator('tbody tr').first().getByRole('button');
      expect(await first.textContent()).toBe(top?.transform);
      await first.click();
      const heading = page.getByRole('heading', { name: /^Pairs of/ });
      await expect.poll(() => heading.textContent(), { timeout: 30_000 }).toContain(`(${expected.toLocaleString('en-US')})`);
      await expect.poll(() => page.locator('ul.pairs > li').count()).toBe(Math.min(12, expected));
      expect(pageRequests.length).toBeGreaterThan(0);
      // Every listed pair's structures drawn before the screenshot.
      const images = page.locator('ul.pairs > li img');
      await expect.poll(() => images.evaluateAll((imgs) => imgs.length > 0 && imgs.every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0)), { timeout: 30_000 }).toBe(true);
      await checkPage(page, problems, 'a04b-mmp-paged');
    } finally {
      page.off('request', onRequest);
      await page.unroute(result);
    }
  });

  it('opens the activity cliffs: the SALI plot has a point per cliff, pairs side by side with Δp, similarity and SALI', async () => {
    await openView('Activity cliffs');
    const cliffs = (await analysis('mmp')).mmp?.cliffs ?? [];
    expect(cliffs.length).toBeGreaterThan(0);
    const plot = page.getByRole('img', { name: /^SALI plot/ });
    await expect.poll(() => plot.getAttribute('data-drawn'), { timeout: 30_000 }).toBe(String(cliffs.length));
    const rows = page.getByRole('list', { name: 'Activity cliffs' }).getByRole('listitem');
    await expect.poll(() => rows.count()).toBe(Math.min(10, cliffs.length));
    const text = (await rows.first().textContent()) ?? '';
    for (const part of ['ΔpActivity', 'SALI', 'Tanimoto', 'Scaffold Tanimoto']) expect(text).toContain(part);
    expect(await rows.first().getByRole('link').evaluateAll((a) => a.map((x) => x.getAttribute('aria-label')))).toEqual([`Molecule ${cliffs[0]?.a}`, `Molecule ${cliffs[0]?.b}`]);
    await checkPage(page, problems, 'a05-cliffs');
  });

  it('draws the efficiency plane: SEI against BEI and LE against heavy atoms, coloured by pActivity, a structure on hover', async () => {
    await openView('Efficiency plane');
    const [sei = [], bei = [], le = [], heavy = []] = await values(`activities.${ACTIVITY}.sei`, `activities.${ACTIVITY}.bei`, `activities.${ACTIVITY}.le`, 'heavyAtoms');
    const both = (a: number[], b: number[]) => a.filter((v, i) => Number.isFinite(v) && Number.isFinite(b[i])).length;
    expect(both(sei, bei)).toBeGreaterThan(ROWS * 0.8);
    const seiPlot = page.getByRole('img', { name: `SEI against BEI (${ACTIVITY})` });
    const lePlot = page.getByRole('img', { name: `LE against heavy atoms (${ACTIVITY})` });
    await expect.poll(() => seiPlot.getAttribute('data-drawn'), { timeout: 30_000 }).toBe(String(both(sei, bei)));
    await expect.poll(() => lePlot.getAttribute('data-drawn'), { timeout: 30_000 }).toBe(String(both(heavy, le)));
    const at = await pointOnPlot(seiPlot, VIRIDIS);
    await page.mouse.move(at.x, at.y);
    const card = page.getByRole('status', { name: /^Molecule \d+$/ });
    await expect.poll(() => card.locator('img').evaluate((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0), { timeout: 30_000 }).toBe(true);
    await checkPage(page, problems, 'a05b-efficiency-plane');
  });

  it('searches by similarity, and names the field of a bad SMILES', async () => {
    await openView('Similarity search');
    const first = await rest<{ standardizedSmiles?: string }>(server, userKey, 'GET', `/v1/jobs/${jobId}/results/0`);
    await page.getByLabel('Query SMILES').fill(first.standardizedSmiles ?? '');
    await page.getByRole('button', { name: 'Search' }).click();
    const hits = page.getByRole('list', { name: 'Similar molecules' }).getByRole('listitem');
    await expect.poll(() => hits.count()).toBe(24);
    expect(await hits.first().textContent()).toContain('similarity 1.000');
    await checkPage(page, problems, 'a06-similarity');
    await page.getByLabel('Query SMILES').fill('C1CC(');
    await page.getByRole('button', { name: 'Search' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'The search was refused' });
    await alert.waitFor();
    expect(await alert.textContent()).toContain('smiles');
    expect(await page.getByLabel('Query SMILES').getAttribute('aria-invalid')).toBe('true');
    await checkPage(page, problems, 'a07-similarity-refused');
  });
  it('shows why an analysis failed, then R-groups as the core and a column per label', async () => {
    // An unclosed ring, typed in the form's core field: the API accepts it, RDKit cannot read it.
    await openView('R-groups');
    await page.getByLabel('core', { exact: true }).fill('C1CCC');
    await page.getByRole('form', { name: /^Run / }).getByRole('button', { name: /^Run / }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'failed' });
    await alert.waitFor({ timeout: 60_000 });
    expect(await alert.textContent()).toContain('core');
    await checkPage(page, problems, 'a08-rgroups-failed');
    await page.getByLabel('core', { exact: true }).fill('');
    await run();
    const api = (await rest<{ rgroups?: { labels?: string[]; substituents?: { label?: string; substituents?: unknown[] }[] } }>(server, userKey, 'GET', `/v1/jobs/${jobId}/analyses/rgroups`)).rgroups;
    const labels = api?.substituents ?? [];
    expect(labels.length).toBeGreaterThan(0);
    for (const l of labels) {
      await expect.poll(() => page.getByRole('region', { name: `${l.label} substituents` }).getByRole('listitem').count()).toBe(Math.min(10, l.substituents?.length ?? 0));
    }
    await expect.poll(() => page.locator('figure', { hasText: 'Core' }).locator('img').evaluate((i) => (i as HTMLImageElement).naturalWidth), { timeout: 30_000 }).toBeGreaterThan(0);
    await checkPage(page, problems, 'a09-rgroups');
  });

  it('draws statistics, duplicates and nearest neighbours', async () => {
    await openView('Statistics');
    await page.getByRole('img', { name: 'Correlation matrix of the descriptors and numeric columns' }).and(page.locator('[data-drawn]')).waitFor({ timeout: 30_000 });
    await page.getByRole('region', { name: 'Anomalies' }).getByRole('listitem').first().waitFor();
    // A histogram per column, each counting the column's values in 20 bins.
    const columns = (await rest<{ statistics?: { columns?: { column?: string; count?: number | string; histogram?: (number | string)[] }[] } }>(server, userKey, 'GET', `/v1/jobs/${jobId}/analyses/statistics`)).statistics?.columns ?? [];
    expect(columns.length).toBeGreaterThan(10);
    for (const c of columns) {
      expect((c.histogram ?? []).reduce((a: number, b) => a + Number(b), 0)).toBe(Number(c.count));
      await page.getByRole('img', { name: new RegExp(`^Distribution of ${(c.column ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${Number(c.count)} values in ${c.histogram?.length === 1 ? '1 bin' : `${c.histogram?.length} bins`}`) }).waitFor();
    }
    await checkPage(page, problems, 'a10-statistics');
    await openView('Duplicates');
    await page.getByRole('table', { name: 'Duplicates by level' }).waitFor();
    await checkPage(page, problems, 'a11-duplicates');
    await openView('Nearest neighbours');
    await run();
    const neighbors = (await rest<{ nearestNeighbors?: { neighbors?: unknown[] } }>(server, userKey, 'GET', `/v1/jobs/${jobId}/analyses/nearest_neighbors`)).nearestNeighbors?.neighbors ?? [];
    await expect.poll(() => page.getByRole('img', { name: /^Isolation of the molecules: / }).getAttribute('aria-label')).toMatch(new RegExp(`: ${neighbors.length} values in 20 bins`));
    await expect.poll(() => page.getByRole('list', { name: 'Most isolated molecules' }).getByRole('listitem').count()).toBe(Math.min(24, neighbors.length));
    await checkPage(page, problems, 'a12-nearest-neighbours');
  });

  it('downloads the batch report from the job page: the HTML opens offline with every section and picture, the PDF is a PDF', async () => {
    await page.goto(`${server.url}/#/jobs/${encodeURIComponent(jobId)}`);
    const htmlDownload = page.waitForEvent('download', { timeout: 120_000 });
    await page.getByRole('button', { name: 'Export Report (HTML)' }).click();
    // Saved under a .html name, as a browser saves it, so it opens as a page.
    const htmlPath = `${outDir}/report.html`;
    await (await htmlDownload).saveAs(htmlPath);
    const pdfDownload = page.waitForEvent('download', { timeout: 120_000 });
    await page.getByRole('button', { name: 'Export Report (PDF)' }).click();
    const pdf = readFileSync(await (await pdfDownload).path());
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(10_000);

    // Another machine with no network: the file alone must be the whole report.
    const offline = await browser.newContext({ offline: true, viewport: { width: 1100, height: 900 } });
    try {
      const report = await offline.newPage();
      const requests: string[] = [];
      report.on('request', (r) => {
        if (!r.url().startsWith('file://') && !r.url().startsWith('data:')) requests.push(r.url());
      });
      await report.goto(`file://${htmlPath}`);
      const sections = await report.getByRole('heading', { level: 2 }).allTextContents();
      expect(sections).toEqual(['Summary', 'Descriptor distributions', 'Structural alerts by rule', 'Top scaffolds', 'Chemical space', 'Activity cliffs', 'Efficiency plane']);
      // Every structure and plot is inline SVG that drew at a real size.
      const sizes = await report.locator('svg').evaluateAll((svgs) => svgs.map((s) => s.getBoundingClientRect()).map((r) => Math.min(r.width, r.height)));
      expect(sizes.length).toBeGreaterThan(20);
      expect(sizes.filter((size) => size < 20)).toEqual([]);
      expect(await report.locator('img, iframe, object, embed, script, link').count()).toBe(0);
      await report.screenshot({ path: `${outDir}/a13-report-offline.png`, fullPage: false });
      expect(requests).toEqual([]);
    } finally {
      await offline.close();
    }
  });
});
