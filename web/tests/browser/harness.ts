/**
 * What the browser tests stand on: a real `molbatch serve` on loopback
 * (port 0, a fresh data directory), keys of each role made through the REST
 * admin API, and Debian's Chromium driven by playwright-core.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';

export const webDir = resolve(import.meta.dirname, '../..');
export const outDir = resolve(process.env.MOLBATCH_TEST_OUT ?? join(webDir, 'test-results'));
export const fixture = (name: string) => join(webDir, 'tests/fixtures', name);

export interface Server {
  url: string;
  adminKey: string;
  dataDir: string;
  stop: () => Promise<void>;
}

export async function startServer(): Promise<Server> {
  // An already running server (and its admin key) instead of a fresh one.
  const existing = process.env.MOLBATCH_TEST_SERVER;
  if (existing) {
    const adminKey = process.env.MOLBATCH_TEST_ADMIN_KEY ?? '';
    return { url: existing.replace(/\/$/, ''), adminKey, dataDir: '', stop: () => Promise.resolve() };
  }
  const bin = resolve(webDir, process.env.MOLBATCH_BIN ?? '../target/debug/molbatch');
  if (!existsSync(bin)) throw new Error(`no molbatch binary at ${bin}: build it (cargo build --bin molbatch) or set MOLBATCH_BIN`);
  if (!existsSync(join(webDir, 'dist/index.html'))) throw new Error('web/dist is not built: run npm run build first');
  const dataDir = mkdtempSync(join(tmpdir(), 'molbatch-web-test-'));
  // Embedded storage in the fresh directory, whatever the environment says.
  // Every molecule computed (no result cache), as the tests' running jobs assume.
  const env: NodeJS.ProcessEnv = { ...process.env, RUST_LOG: 'warn', MOLBATCH_RESULT_CACHE: 'off' };
  delete env.MOLBATCH_POSTGRES_URL;
  delete env.MOLBATCH_REDIS_URL;
  delete env.MOLBATCH_DATA_DIR;
  const child: ChildProcess = spawn(bin, ['serve', '--data-dir', dataDir, '--http', '127.0.0.1:0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const url = await new Promise<string>((ok, fail) => {
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const m = /molbatch serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (m?.[1]) ok(m[1]);
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.on('exit', (code) => fail(new Error(`molbatch serve exited with ${code}:\n${log}`)));
  });
  child.stdout?.resume();
  child.stderr?.resume();
  const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
  return {
    url,
    adminKey,
    dataDir,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A REST call with a key, as a test's setup (not what the app under test does). */
export async function rest<T>(server: Server, key: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(server.url + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

export async function createKey(server: Server, tenant: string, role: 'ROLE_VIEWER' | 'ROLE_USER' | 'ROLE_ADMIN', name: string): Promise<{ keyId: string; secret: string }> {
  return rest(server, server.adminKey, 'POST', `/v1/tenants/${tenant}/keys`, { role, name });
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh page that records console errors (CSP refusals among them). */
export async function newPage(browser: Browser): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error' && /Refused to|Content Security Policy/i.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return { context, page, problems };
}

/**
 * A page as a user would judge it: a screenshot named `name`, no serious or
 * critical axe-core violation, and no CSP refusal or page error so far.
 */
export async function checkPage(page: Page, problems: string[], name: string): Promise<void> {
  await screenshot(page, name);
  const violations = await seriousA11yViolations(page);
  expect(violations, `${name}: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
  expect(problems, `${name}: console`).toEqual([]);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: join(outDir, `${name}.png`), fullPage: true });
}

const axeSource = readFileSync(join(webDir, 'node_modules/axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  // page.evaluate runs outside the page's CSP, so the checker can be injected.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Signs in on the sign-in page of a fresh page (no key in its tab yet) and waits for the jobs page. */
export async function signIn(page: Page, server: Server, key: string): Promise<void> {
  await page.goto(`${server.url}/#/jobs`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
}

/** The HTTP status of a GET with a key, e.g. 401 once the key is revoked. */
export async function statusOf(server: Server, key: string, path: string): Promise<number> {
  const response = await fetch(server.url + path, { headers: { Authorization: `Bearer ${key}` } });
  await response.body?.cancel();
  return response.status;
}

/**
 * Uploads the first `n` SMILES of MOSES train (under `dataDir`, the shared
 * data) as a SMILES job through REST and waits for it to complete; for the
 * benches. Returns the job id.
 */
export async function uploadMoses(server: Server, key: string, n: number, dataDir: string): Promise<string> {
  const { gunzipSync } = await import('node:zlib');
  const lines = gunzipSync(readFileSync(join(dataDir, 'moses/train.csv.gz'))).toString('utf8').split('\n');
  const body = lines.slice(1, n + 1).join('\n') + '\n';
  const upload = await fetch(`${server.url}/v1/jobs:upload?format=smiles&displayName=moses-${n}.smi`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'text/plain' },
    body,
  });
  if (!upload.ok) throw new Error(`upload: ${upload.status} ${await upload.text()}`);
  const job = (await upload.json()) as { jobId: string };
  const submitted = performance.now();
  for (;;) {
    const j = await rest<{ state: string }>(server, key, 'GET', `/v1/jobs/${job.jobId}`);
    if (j.state === 'JOB_STATE_COMPLETED') break;
    if (j.state === 'JOB_STATE_FAILED' || j.state === 'JOB_STATE_CANCELLED') throw new Error(`job ${j.state}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(`job of ${n} molecules completed in ${((performance.now() - submitted) / 1000).toFixed(1)} s`);
  return job.jobId;
}
