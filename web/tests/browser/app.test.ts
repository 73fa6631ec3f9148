/**
 * The web app in a real Chromium against a real `molbatch serve`: sign in,
 * upload with an activity column and watch it complete live, results with
 * structures, server-side sort, a molecule's highlighted alert, a CSV
 * export, the viewer role, a bad key and a refused file. Every page is
 * checked with axe-core and screenshotted; a CSP refusal fails the test.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPage, createKey, fixture, launchBrowser, newPage, rest, startServer, type Server } from './harness';

let server: Server;
let browser: Browser;
let userKey: string;
let viewerKey: string;
let context: BrowserContext;
let page: Page;
let problems: string[];
let jobId = '';

async function signIn(key: string) {
  await page.goto(`${server.url}/#/jobs`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  userKey = (await createKey(server, 'default', 'ROLE_USER', 'browser test user')).secret;
  viewerKey = (await createKey(server, 'default', 'ROLE_VIEWER', 'browser test viewer')).secret;
  ({ context, page, problems } = await newPage(browser));
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

describe('the molbatch web app', () => {
  it('is served by the gateway under a strict CSP', async () => {
    const response = await page.goto(`${server.url}/`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.getByRole('heading', { name: 'Sign in to molbatch' }).waitFor();
    await checkPage(page, problems, '01-sign-in');
  });

  it('tells a bad key it was not accepted', async () => {
    await signIn('mbk_000000000000_' + '0'.repeat(64));
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/not accepted/i);
    await checkPage(page, problems, '02-bad-key');
  });

  it('signs in and shows tenant and role', async () => {
    await signIn(userKey);
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    const header = page.getByRole('banner');
    await expect.poll(() => header.textContent()).toMatch(/Tenant\s*default/);
    expect(await header.textContent()).toMatch(/Role\s*user/);
    await checkPage(page, problems, '03-jobs-empty');
  });

  it('shows the line of a refused file beside the form', async () => {
    await page.getByRole('link', { name: 'New batch' }).first().click();
    await page.getByLabel('Batch file').setInputFiles(fixture('broken_line3.csv'));
    await page.getByRole('button', { name: 'Upload and start' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'line 3' });
    await alert.waitFor();
    expect(await alert.textContent()).toContain('line 3');
    await checkPage(page, problems, '04-upload-refused');
  });

  it('keeps the bad row in place as RECORD_SYNTAX when told to skip bad records', async () => {
    await page.goto(`${server.url}/#/upload`);
    await page.getByLabel('Batch file').setInputFiles(fixture('broken_line3.csv'));
    await page.getByLabel('Skip bad records').check();
    await checkPage(page, problems, '04b-upload-skip-bad-records');
    await page.getByRole('button', { name: 'Upload and start' }).click();
    await page.waitForURL(/#\/jobs\/[^/]+$/);
    await page.getByText('Completed', { exact: true }).first().waitFor({ timeout: 90_000 });
    const table = page.getByRole('table', { name: /Results, page 1/ });
    await expect.poll(() => table.locator('tbody tr').count()).toBe(3);
    const rows = table.locator('tbody tr');
    expect(await rows.nth(0).textContent()).toContain('ethanol');
    expect(await rows.nth(1).textContent()).toContain('RECORD_SYNTAX');
    expect(await rows.nth(2).textContent()).toContain('ethylamine');
  });

  it('previews the first rows of a gzipped file in the browser', async () => {
    await page.goto(`${server.url}/#/upload`);
    await page.getByLabel('Batch file').setInputFiles({
      name: 'few.csv.gz',
      mimeType: 'application/gzip',
      buffer: gzipSync(readFileSync(fixture('chembl214_2000.csv'))),
    });
    const preview = page.getByRole('table', { name: 'First rows of the file' });
    await expect.poll(() => preview.locator('tbody tr').count()).toBe(8);
    expect(await preview.locator('thead').textContent()).toContain('exp_mean [nM]');
    expect(await page.getByLabel('Name').inputValue()).toBe('few.csv');
  });

  it('uploads 2,000 molecules with an activity column and sees the bar reach COMPLETED live', async () => {
    await page.goto(`${server.url}/#/upload`);
    await page.getByLabel('Batch file').setInputFiles(fixture('chembl214_2000.csv'));
    await page.getByRole('table', { name: 'First rows of the file' }).waitFor();
    await page.getByRole('button', { name: 'Add activity column' }).click();
    await page.getByLabel('Activity column 1', { exact: true }).selectOption('exp_mean [nM]');
    await page.getByLabel('Unit of activity column 1').selectOption('nM');
    expect(await page.getByLabel('SMILES column').inputValue()).toBe('smiles');
    await checkPage(page, problems, '05-upload-form');
    await page.getByRole('button', { name: 'Upload and start' }).click();
    await page.waitForURL(/#\/jobs\/[^/]+$/);
    jobId = decodeURIComponent(new URL(page.url()).hash.split('/')[2] ?? '');
    const navigations: string[] = [];
    page.on('framenavigated', (f) => f === page.mainFrame() && navigations.push(f.url()));
    await page.getByText('Completed', { exact: true }).first().waitFor({ timeout: 90_000 });
    await expect.poll(() => page.getByRole('progressbar', { name: 'Job progress' }).getAttribute('value')).toBe('100');
    expect(await page.getByRole('main').textContent()).toContain('2,000 of 2,000 molecules');
    // No reload: the page followed the job through its watch stream.
    expect(navigations.filter((u) => !u.includes('#'))).toEqual([]);
  });

  it('shows the first results page with 50 drawn structures and the quality score', async () => {
    const table = page.getByRole('table', { name: /Results, page 1/ });
    await table.waitFor();
    await expect.poll(() => table.locator('tbody tr').count()).toBe(50);
    await expect
      .poll(() => table.locator('tbody img').evaluateAll((imgs) => imgs.filter((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0).length), {
        timeout: 30_000,
      })
      .toBe(50);
    const alts = await table.locator('tbody img').evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).alt));
    expect(alts.every((a) => a.length > 0)).toBe(true);
    await expect.poll(() => page.locator('.stats').textContent(), { timeout: 30_000 }).toMatch(/Quality score\d+\.\d \/ 100/);
    await checkPage(page, problems, '06-job-results');
  });

  it('sorts by QED on the server, descending', async () => {
    await page.getByRole('button', { name: /^QED/ }).click();
    await page.getByRole('table', { name: /sorted by qed descending/ }).waitFor();
    const qedColumn = await page.locator('thead th').evaluateAll((ths) => ths.findIndex((th) => th.textContent?.startsWith('QED')));
    await expect
      .poll(async () => {
        const values = await page.locator(`tbody tr td:nth-child(${qedColumn + 1})`).allTextContents();
        const numbers = values.map(Number);
        return numbers.length === 50 && numbers.every((v, i) => i === 0 || v <= (numbers[i - 1] as number));
      })
      .toBe(true);
    await checkPage(page, problems, '07-sorted-by-qed');
  });

  it('opens a molecule with an alert and shows the matched atoms highlighted', async () => {
    await page.getByLabel('Show').selectOption('alerts');
    const table = page.getByRole('table', { name: /Results, page 1/ });
    await expect.poll(() => table.locator('tbody tr td.alerts').first().textContent()).toMatch(/alert/);
    await table.locator('tbody tr').first().getByRole('link', { name: /^Molecule \d+$/ }).click();
    await page.getByRole('heading', { name: /^Molecule \d+/, level: 1 }).waitFor();
    const structure = page.getByRole('region', { name: /^Structure/ }).locator('img.large');
    await expect.poll(() => structure.evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    const plain = await structure.getAttribute('src');
    const radios = page.getByRole('group', { name: "Highlight an alert's matched atoms" }).getByRole('radio');
    const highlighted = page.waitForResponse((r) => r.url().includes('highlightAlert=') && r.status() === 200);
    await radios.nth(1).check();
    await highlighted;
    await page.getByRole('heading', { name: /highlighted$/ }).waitFor();
    await expect.poll(() => structure.getAttribute('src')).not.toBe(plain);
    await expect.poll(() => structure.evaluate((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    await page.getByRole('heading', { name: 'Activities and ligand efficiency' }).waitFor();
    await checkPage(page, problems, '08-molecule-alert');
  });

  it('downloads a CSV export of every molecule', async () => {
    await page.goto(`${server.url}/#/jobs/${encodeURIComponent(jobId)}`);
    const download = page.waitForEvent('download', { timeout: 60_000 });
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const file = await (await download).path();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines.length).toBe(2001);
    expect(lines[0]).toMatch(/smiles/i);
    await checkPage(page, problems, '09-exported');
  });

  it('lists the job on the jobs page', async () => {
    await page.goto(`${server.url}/#/jobs`);
    const row = page.getByRole('row').filter({ hasText: 'chembl214_2000.csv' });
    await row.waitFor();
    expect(await row.textContent()).toContain('Completed');
    await checkPage(page, problems, '10-jobs');
    // The server filters by name, ignoring case.
    const name = page.getByRole('searchbox', { name: 'Name' });
    await name.fill('CHEMBL214');
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'chembl214_2000.csv' }).count()).toBe(1);
    await name.fill('no such batch');
    await page.getByText('No jobs named like “no such batch”.').waitFor();
    await name.fill('');
    await row.waitFor();
  });

  it('shows a viewer no submit, cancel or export control', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(viewerKey);
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    await page.getByRole('row').filter({ hasText: 'chembl214_2000.csv' }).waitFor();
    expect(await page.getByRole('banner').textContent()).toMatch(/Role\s*viewer/);
    expect(await page.getByRole('link', { name: 'New batch' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Cancel/ }).count()).toBe(0);
    await page.goto(`${server.url}/#/jobs/${encodeURIComponent(jobId)}`);
    await page.getByRole('table', { name: /Results, page 1/ }).waitFor();
    expect(await page.getByRole('button', { name: /Export/ }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Delete|Retry/ }).count()).toBe(0);
    await page.goto(`${server.url}/#/upload`);
    await page.getByText('viewer role').waitFor();
    expect(await page.getByLabel('Batch file').count()).toBe(0);
    await checkPage(page, problems, '11-viewer-upload');
  });

  it('cancels a running job from the jobs page', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(userKey);
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    // 20,000 molecules, gzipped: long enough to be running when cancelled.
    const rows = readFileSync(fixture('chembl214_2000.csv'), 'utf8').trimEnd().split('\n');
    const body = [rows[0], ...Array.from({ length: 10 }, () => rows.slice(1)).flat()].join('\n') + '\n';
    await page.goto(`${server.url}/#/upload`);
    await page.getByLabel('Batch file').setInputFiles({ name: 'long.csv.gz', mimeType: 'application/gzip', buffer: gzipSync(body) });
    await page.getByRole('table', { name: 'First rows of the file' }).waitFor();
    await page.getByRole('button', { name: 'Upload and start' }).click();
    await page.waitForURL(/#\/jobs\/[^/]+$/);
    await page.getByRole('link', { name: 'Jobs', exact: true }).first().click();
    const row = page.getByRole('row').filter({ hasText: 'long.csv' });
    await row.getByRole('button', { name: 'Cancel long.csv' }).click();
    await expect.poll(() => row.getByText('Cancelled', { exact: true }).count()).toBe(1);
    expect(await row.getByRole('button', { name: /Cancel/ }).count()).toBe(0);
    await checkPage(page, problems, '12-jobs-cancelled');
  });

  it('retries the cancelled job as a new job, then deletes both', async () => {
    await page.getByRole('row').filter({ hasText: 'long.csv' }).getByRole('link', { name: 'long.csv' }).click();
    await page.getByRole('heading', { name: 'long.csv', level: 1 }).waitFor();
    const cancelledUrl = page.url();
    await page.getByRole('button', { name: 'Retry job' }).click();
    await page.getByText('Retry of').waitFor();
    expect(page.url()).not.toBe(cancelledUrl);
    await page.getByRole('heading', { name: 'long.csv', level: 1 }).waitFor();
    const retriedUrl = page.url();
    await checkPage(page, problems, '12b-job-retried');

    for (const url of [retriedUrl, cancelledUrl]) {
      await page.goto(url);
      await page.getByRole('button', { name: 'Delete job' }).click();
      const confirm = page.getByRole('alertdialog', { name: 'Delete this job?' });
      expect(await confirm.textContent()).toContain('cannot be undone');
      if (url === retriedUrl) await checkPage(page, problems, '12c-job-delete-confirm');
      await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
      await page.waitForURL(/#\/jobs$/);
      await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    }
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'long.csv' }).count()).toBe(0);
    await page.goto(retriedUrl);
    await page.getByRole('heading', { name: 'Job not found', level: 1 }).waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('deleted');
  });

  it('says so when the server cannot be reached', async () => {
    const listJobs = (url: URL) => url.pathname === '/v1/jobs';
    await page.route(listJobs, (route) => route.abort('connectionrefused'));
    await page.goto(`${server.url}/#/jobs`);
    await page.reload();
    const alert = page.getByRole('alert').filter({ hasText: 'Cannot reach the molbatch server' });
    await alert.waitFor({ timeout: 30_000 });
    await page.unroute(listJobs);
    // The failed loads are the browser's own console errors, not CSP refusals.
    await checkPage(page, problems, '13-network-down');
  });

  it('says so when a job does not exist', async () => {
    await page.goto(`${server.url}/#/jobs/00000000-0000-0000-0000-000000000000`);
    await page.getByRole('heading', { name: 'Job not found' }).waitFor();
    await checkPage(page, problems, '14-job-not-found');
  });

  it('signs out a key revoked during the session, saying why', async () => {
    const key = await createKey(server, 'default', 'ROLE_USER', 'browser test revoked');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(key.secret);
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    await rest(server, server.adminKey, 'POST', `/v1/keys/${key.keyId}:revoke`, {});
    await page.getByRole('button', { name: 'Refresh' }).click();
    const notice = page.getByRole('status').filter({ hasText: 'no longer accepted' });
    await notice.waitFor();
    await page.getByLabel('API key').waitFor();
    await checkPage(page, problems, '15-revoked');
  });
});
