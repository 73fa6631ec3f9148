/**
 * Substructure search in a real Chromium against a real `molbatch serve`:
 * a five-molecule SMILES file (indole, N-methylindole, ethanol, L- and
 * D-alanine) is uploaded through the app, then the search view finds
 * indole's N–H only as SMARTS and both indoles as SMILES, each hit drawn
 * with its match highlighted; a chiral query tells the alanines apart only
 * with the stereo box ticked; a broken SMARTS is refused beside the query
 * box and the page keeps working; a one-hit page size from the address pages
 * forward and back with the counts added up. Every state is checked with
 * axe-core and screenshotted; a CSP refusal fails the test.
 */
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPage, createKey, launchBrowser, newPage, startServer, type Server } from './harness';

const MOLECULES = [
  ['c1ccc2[nH]ccc2c1', 'indole'],
  ['Cn1ccc2ccccc21', 'N-methylindole'],
  ['CCO', 'ethanol'],
  ['C[C@@H](C(=O)O)N', 'L-alanine'],
  ['C[C@H](C(=O)O)N', 'D-alanine'],
];
const INDOLE = 'c1ccc2[nH]ccc2c1';

let server: Server;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: string[];
let jobId = '';

/** The highlighted drawings BatchDepict answered, by job molecule index: the atoms asked for and the SVG. */
const highlighted = new Map<number, { atoms: number[]; svg: string }>();

async function recordDepictions(response: Response) {
  if (!response.url().endsWith('/v1/depictions:batch') || !response.ok()) return;
  const asked = (response.request().postDataJSON() as { requests: { index?: number; highlightAtoms?: number[] }[] }).requests;
  const answer = (await response.json()) as { depictions?: { svg?: string }[] };
  asked.forEach((r, i) => {
    if (r.highlightAtoms?.length && r.index !== undefined) highlighted.set(r.index, { atoms: r.highlightAtoms, svg: answer.depictions?.[i]?.svg ?? '' });
  });
}

const hitsTable = () => page.getByRole('table', { name: /^Substructure hits, page \d+$/ });
const hitLinks = () => hitsTable().getByRole('link', { name: /^Molecule \d+$/ });
const counts = () => page.getByRole('status').filter({ hasText: /looked at/ });

/** The molecule indexes of the hits shown, once `n` are shown. */
async function hitIndexes(n: number): Promise<number[]> {
  await expect.poll(() => hitLinks().count(), { timeout: 30_000 }).toBe(n);
  return (await hitLinks().allTextContents()).map(Number);
}

/** Types a query, picks its syntax and the stereo box, and presses Enter in the query box. */
async function search(query: string, syntax: 'SMILES' | 'SMARTS', stereo = false) {
  await page.getByRole('radio', { name: syntax }).check();
  await page.getByLabel('Match stereochemistry').setChecked(stereo);
  const box = page.getByLabel('Query', { exact: true });
  await box.fill(query);
  await box.press('Enter');
}

/** How many pixels of an image are RDKit's highlight colour (#FF7F7F), read through a canvas. */
function highlightPixels(img: ReturnType<Page['locator']>): Promise<number> {
  return img.evaluate((el) => {
    const image = el as HTMLImageElement;
    if (!image.complete || image.naturalWidth === 0) return 0;
    const canvas = document.createElement('canvas');
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    const ctx = canvas.getContext('2d');
    if (!ctx) return 0;
    ctx.drawImage(image, 0, 0);
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs((data[i] ?? 0) - 255) < 8 && Math.abs((data[i + 1] ?? 0) - 127) < 8 && Math.abs((data[i + 2] ?? 0) - 127) < 8) n++;
    }
    return n;
  });
}

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const userKey = (await createKey(server, 'default', 'ROLE_USER', 'substructure test user')).secret;
  ({ context, page, problems } = await newPage(browser));
  page.on('response', (r) => void recordDepictions(r).catch(() => undefined));
  await page.goto(`${server.url}/#/jobs`);
  await page.getByLabel('API key').fill(userKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

describe('substructure search', () => {
  it('uploads five molecules and opens the search from the job page', async () => {
    await page.goto(`${server.url}/#/upload`);
    const file = MOLECULES.map(([smiles, id]) => `${smiles} ${id}`).join('\n') + '\n';
    await page.getByLabel('Batch file').setInputFiles({ name: 'substructure.smi', mimeType: 'text/plain', buffer: Buffer.from(file) });
    await page.getByRole('button', { name: 'Upload and start' }).click();
    await page.waitForURL(/#\/jobs\/[^/]+$/);
    jobId = decodeURIComponent(new URL(page.url()).hash.split('/')[2] ?? '');
    await page.getByText('Completed', { exact: true }).first().waitFor({ timeout: 90_000 });
    await page.getByRole('navigation', { name: 'Analyses of this job' }).getByRole('link', { name: 'Substructure search' }).click();
    await page.getByRole('heading', { name: 'Substructure search', level: 1 }).waitFor();
    expect(page.url()).toContain(`#/jobs/${jobId}/analyses/substructure`);
    expect(await page.getByLabel('Query', { exact: true }).getAttribute('placeholder')).toBe(INDOLE);
    expect(await page.getByRole('radio', { name: 'SMILES' }).isChecked()).toBe(true);
    await checkPage(page, problems, 's01-substructure-empty');
  });

  it("finds indole's N-H only as SMARTS, drawn with its match highlighted", async () => {
    await search(INDOLE, 'SMARTS');
    expect(await hitIndexes(1)).toEqual([0]);
    const row = hitsTable().locator('tbody tr').first();
    expect(await row.textContent()).toContain('indole');
    await expect.poll(() => counts().textContent()).toMatch(/^1 hit in all; looked at 5 of 5 valid molecules, \d passed the fingerprint screen\.$/);
    // The search is in the address.
    expect(decodeURIComponent(new URL(page.url()).hash)).toContain(`substructure?q=${INDOLE}&syntax=smarts`);
    // BatchDepict drew molecule 0 with the hit's nine atoms highlighted (RDKit marks each with an ellipse)...
    await expect.poll(() => highlighted.get(0)?.atoms, { timeout: 30_000 }).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const svg = highlighted.get(0)?.svg ?? '';
    expect(svg.match(/<ellipse[^>]*fill:#FF7F7F/g)?.length).toBe(9);
    // ...and that drawing is the picture in the row.
    const img = row.locator('img');
    await expect.poll(() => highlightPixels(img), { timeout: 30_000 }).toBeGreaterThan(200);
    await checkPage(page, problems, 's02-substructure-smarts');
  });

  it('finds both indoles as SMILES, which ignores hydrogen counts', async () => {
    await search(INDOLE, 'SMILES');
    expect(await hitIndexes(2)).toEqual([0, 1]);
    await expect.poll(() => counts().textContent()).toMatch(/^2 hits in all; looked at 5 of 5 valid molecules/);
    const methylindole = hitsTable().locator('tbody tr').nth(1);
    expect(await methylindole.textContent()).toContain('N-methylindole');
    await expect.poll(() => highlighted.get(1)?.atoms.length, { timeout: 30_000 }).toBe(9);
    await expect.poll(() => highlightPixels(methylindole.locator('img')), { timeout: 30_000 }).toBeGreaterThan(200);
    await checkPage(page, problems, 's03-substructure-smiles');
  });

  it('tells L- from D-alanine only with stereochemistry matched', async () => {
    await search('C[C@@H](C(=O)O)N', 'SMILES', true);
    expect(await hitIndexes(1)).toEqual([3]);
    expect(await hitsTable().textContent()).toContain('L-alanine');
    expect(decodeURIComponent(new URL(page.url()).hash)).toContain('chirality=1');
    await checkPage(page, problems, 's04-substructure-chiral');
    await search('C[C@@H](C(=O)O)N', 'SMILES', false);
    expect(await hitIndexes(2)).toEqual([3, 4]);
  });

  it('shows why a broken SMARTS is refused beside the query box, and keeps working', async () => {
    await search('C(', 'SMARTS');
    const alert = page.getByRole('alert').filter({ hasText: 'The search was refused' });
    await alert.waitFor();
    expect(await alert.textContent()).toContain('RDKit cannot read it as SMARTS');
    expect(await alert.textContent()).toContain('query');
    const box = page.getByLabel('Query', { exact: true });
    expect(await box.getAttribute('aria-invalid')).toBe('true');
    // The message is read with the box.
    const described = (await box.getAttribute('aria-describedby')) ?? '';
    expect(described.split(' ').some((id) => id.endsWith('-error'))).toBe(true);
    expect(await hitsTable().count()).toBe(0);
    await checkPage(page, problems, 's05-substructure-refused');
    await search('[CH3][CH2][OH]', 'SMARTS');
    expect(await hitIndexes(1)).toEqual([2]);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await box.getAttribute('aria-invalid')).toBeNull();
  });

  it('pages one hit at a time from a linked search, forward and back, adding up the counts', async () => {
    await page.goto(`${server.url}/#/jobs/${encodeURIComponent(jobId)}/analyses/substructure?q=${encodeURIComponent(INDOLE)}&size=1`);
    await page.getByRole('heading', { name: 'Substructure search', level: 1 }).waitFor();
    // The address's search fills the form.
    expect(await page.getByLabel('Query', { exact: true }).inputValue()).toBe(INDOLE);
    expect(await page.getByLabel('Per page').inputValue()).toBe('1');
    expect(await hitIndexes(1)).toEqual([0]);
    await expect.poll(() => counts().textContent()).toBe('1 hit so far; looked at 1 of 5 valid molecules, 1 passed the fingerprint screen.');
    const pager = page.getByRole('navigation', { name: 'Hit pages', exact: true });
    await pager.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => hitLinks().allTextContents()).toEqual(['1']);
    await expect.poll(() => counts().textContent()).toMatch(/^2 hits so far; looked at 2 of 5 valid molecules/);
    await checkPage(page, problems, 's06-substructure-page-2');
    await pager.getByRole('button', { name: 'Previous' }).click();
    await expect.poll(() => hitLinks().allTextContents()).toEqual(['0']);
    await expect.poll(() => counts().textContent()).toMatch(/^1 hit so far; looked at 1 of 5/);
    // Past the last hit: a page that looked at the rest and found nothing more.
    await pager.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => hitLinks().allTextContents()).toEqual(['1']);
    await pager.getByRole('button', { name: 'Next' }).click();
    await page.getByText('No more hits.').waitFor();
    await expect.poll(() => counts().textContent()).toBe('2 hits in all; looked at 5 of 5 valid molecules, 2 passed the fingerprint screen.');
    expect(await pager.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
    // A hit's link opens its molecule.
    await pager.getByRole('button', { name: 'Previous' }).click();
    await hitLinks().first().waitFor();
    const index = await hitLinks().first().textContent();
    await hitLinks().first().click();
    await page.getByRole('heading', { name: new RegExp(`^Molecule ${index}`), level: 1 }).waitFor();
  });
});
