/**
 * Benchmark, not a test: the chemical-space map of a big job in headless
 * Chromium. The time from navigating to the analysis's page to the frame
 * with every point drawn (the plot's `data-drawn`, set on ECharts'
 * `finished`), median of 3, and the frame times (requestAnimationFrame
 * deltas) while the map is panned by a mouse drag and zoomed by the wheel.
 * A job of N molecules (BENCH_N, default 100,000: the first SMILES of MOSES
 * train) is uploaded and its chemical_space run first, unless BENCH_JOB_ID
 * names a completed job of the server MOLBATCH_TEST_SERVER points at.
 * `npm run bench:browser -- tests/bench/chemical-space.ts`.
 */
import type { Page } from 'playwright-core';
import { it } from 'vitest';
import { createKey, launchBrowser, newPage, rest, startServer, uploadMoses } from '../browser/harness';

const N = Number(process.env.BENCH_N ?? 100_000);
const DATA = process.env.MOLBATCH_SHARED_DATA ?? '/work/shared/data';

interface Analysis {
  status?: string;
  reason?: string;
  chemicalSpace?: { points?: unknown[] };
}

function summary(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return `median ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${(s[s.length - 1] ?? NaN).toFixed(1)} ms over ${s.length} frames`;
}

/** Frame deltas recorded while `act` runs. */
async function frames(page: Page, act: () => Promise<void>): Promise<number[]> {
  await page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __recording: boolean };
    w.__frames = [];
    w.__recording = true;
    let last = performance.now();
    const tick = (t: number) => {
      w.__frames.push(t - last);
      last = t;
      if (w.__recording) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  await act();
  return page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __recording: boolean };
    w.__recording = false;
    return w.__frames.slice(1);
  });
}

it('chemical space of a big job: first frame and frame times while panning and zooming', async () => {
  const server = await startServer();
  const browser = await launchBrowser();
  try {
    const key = (await createKey(server, 'default', 'ROLE_USER', 'bench')).secret;
    const jobId = process.env.BENCH_JOB_ID || (await uploadMoses(server, key, N, DATA));
    const path = `/v1/jobs/${jobId}/analyses/chemical_space`;
    let analysis = await rest<Analysis>(server, key, 'GET', path).catch(() => null);
    if (analysis?.status !== 'ANALYSIS_STATUS_COMPLETE') {
      const started = performance.now();
      await rest(server, key, 'POST', path, { params: {} });
      for (;;) {
        analysis = await rest<Analysis>(server, key, 'GET', path);
        if (analysis.status === 'ANALYSIS_STATUS_COMPLETE') break;
        if (analysis.status === 'ANALYSIS_STATUS_FAILED') throw new Error(`chemical_space failed: ${analysis.reason}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      console.log(`chemical_space computed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    const fetchStart = performance.now();
    const body = await (await fetch(server.url + path, { headers: { Authorization: `Bearer ${key}` } })).text();
    const points = ((JSON.parse(body) as Analysis).chemicalSpace?.points ?? []).length;
    console.log(`GetAnalysis chemical_space: ${points} points, ${(body.length / 1e6).toFixed(1)} MB of JSON in ${(performance.now() - fetchStart).toFixed(0)} ms (Node client)`);

    const { context, page } = await newPage(browser);
    await page.goto(`${server.url}/#/jobs`);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    const plot = page.getByRole('img', { name: 'Chemical space: PC1 against PC2' });
    const runs: number[] = [];
    for (let run = 0; run < 3; run++) {
      await page.goto('about:blank');
      const start = performance.now();
      await page.goto(`${server.url}/#/jobs/${jobId}/analyses/chemical_space`);
      await page.waitForSelector('.chart[data-drawn]', { timeout: 120_000 });
      runs.push(performance.now() - start);
      if (run === 0) console.log(`points drawn: ${await plot.getAttribute('data-drawn')}`);
    }
    console.log(`chemical space, ${points} points: navigation to the frame with every point drawn ${runs.map((r) => r.toFixed(0)).join(', ')} ms (median ${[...runs].sort((a, b) => a - b)[1]?.toFixed(0)} ms; target < 2,000 ms)`);

    // A digest of the drawn pixels, to tell that a drag or wheel really moved the view.
    const drawnPixels = () => plot.locator('canvas').first().evaluate((c) => (c as HTMLCanvasElement).toDataURL().length + ':' + (c as HTMLCanvasElement).toDataURL().slice(-64));
    const box = await plot.boundingBox();
    if (!box) throw new Error('no plot');
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    // Zoomed in first: at the full extent there is nothing to pan to.
    const beforeZoom = await drawnPixels();
    const zoom = await frames(page, async () => {
      await page.mouse.move(cx, cy);
      for (let i = 0; i < 10; i++) await page.mouse.wheel(0, -120);
    });
    const afterZoom = await drawnPixels();
    console.log(`zooming in (10 wheel steps): ${summary(zoom)}; view changed: ${afterZoom !== beforeZoom}`);
    const pan = await frames(page, async () => {
      await page.mouse.move(cx, cy);
      await page.mouse.down();
      for (let i = 1; i <= 60; i++) await page.mouse.move(cx + 200 * Math.sin(i / 10), cy + 120 * Math.sin(i / 15));
      await page.mouse.up();
    });
    console.log(`panning (60-step drag): ${summary(pan)}; view moved: ${(await drawnPixels()) !== afterZoom}`);
    await context.close();
  } finally {
    await browser.close();
    await server.stop();
  }
});
