/**
 * Benchmark, not a test: the time from opening a big job's page in headless
 * Chromium to its first results page with every structure drawn, and the
 * gzip size of the app's JavaScript. A job of N molecules (BENCH_N, default
 * 100,000: the first SMILES of the MOSES training set) is uploaded through
 * REST and awaited first, unless BENCH_JOB_ID names a completed job of the
 * server that MOLBATCH_TEST_SERVER and MOLBATCH_TEST_ADMIN_KEY point at
 * (`make bench` reuses its big batch so). Also the REST result pages alone:
 * first and last in input order, the first sorted by QED (it builds the
 * job's result index) and the next. `npm run bench:browser` (MOLBATCH_BIN
 * as for the browser tests; MOLBATCH_SHARED_DATA for the data directory).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { it } from 'vitest';
import { createKey, launchBrowser, newPage, rest, startServer, uploadMoses, webDir } from '../browser/harness';

const N = Number(process.env.BENCH_N ?? 100_000);
const DATA = process.env.MOLBATCH_SHARED_DATA ?? '/work/shared/data';

function jsGzipKb(): number {
  const dir = join(webDir, 'dist/assets');
  let total = 0;
  for (const name of readdirSync(dir)) if (name.endsWith('.js')) total += gzipSync(readFileSync(join(dir, name)), { level: 9 }).length;
  return total / 1024;
}

it(`first results page of a big job`, async () => {
  const server = await startServer();
  const browser = await launchBrowser();
  try {
    const key = (await createKey(server, 'default', 'ROLE_USER', 'bench')).secret;
    // A job of the tenant that is already there (`make bench` reuses its
    // big embedded batch), else one uploaded now.
    const jobId = process.env.BENCH_JOB_ID || (await uploadMoses(server, key, N, DATA));
    const total = Number((await rest<{ totalMolecules?: string }>(server, key, 'GET', `/v1/jobs/${jobId}`)).totalMolecules ?? 0);

    // The server's part: result pages in input order and sorted by QED
    // (the first sorted page builds the job's result index).
    const timePage = async (query: string) => {
      const start = performance.now();
      await rest(server, key, 'GET', `/v1/jobs/${jobId}/results?pageSize=50&${query}`);
      return performance.now() - start;
    };
    const deep = Math.max(0, total - 50);
    console.log(
      `REST result pages of a ${total}-molecule job: first ${(await timePage('')).toFixed(0)} ms, ` +
        `last ${(await timePage(`pageToken=${deep}`)).toFixed(0)} ms; ` +
        `sorted by qed desc: first request ${(await timePage('orderBy=qed%20desc')).toFixed(0)} ms (builds the index), ` +
        `then ${(await timePage('orderBy=qed%20desc')).toFixed(0)} ms; PAINS filter ${(await timePage('filter=pains&orderBy=qed')).toFixed(0)} ms`,
    );

    const { context, page } = await newPage(browser);
    await page.goto(`${server.url}/#/jobs`);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    const runs: number[] = [];
    for (let run = 0; run < 5; run++) {
      // A fresh page each run: no cached depictions.
      await page.goto('about:blank');
      const start = performance.now();
      await page.goto(`${server.url}/#/jobs/${jobId}`);
      await page.waitForFunction(
        () => {
          const imgs = [...document.querySelectorAll<HTMLImageElement>('table.results-table tbody img')];
          const rows = document.querySelectorAll('table.results-table tbody tr').length;
          return rows >= 50 && imgs.length >= 50 && imgs.every((i) => i.complete && i.naturalWidth > 0);
        },
        undefined,
        { polling: 'raf', timeout: 60_000 },
      );
      runs.push(performance.now() - start);
    }
    await context.close();
    runs.sort((a, b) => a - b);
    console.log(
      `first results page with 50 structures drawn, ${total}-molecule job: median ${runs[2]?.toFixed(0)} ms (runs: ${runs.map((r) => r.toFixed(0)).join(', ')} ms)`,
    );
    console.log(`app JavaScript: ${jsGzipKb().toFixed(1)} KB gzipped`);
  } finally {
    await browser.close();
    await server.stop();
  }
});
