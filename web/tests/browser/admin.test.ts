/**
 * The admin pages in a real Chromium against a real `molbatch serve`: an
 * admin creates a tenant (a bad id refused beside its field), sets a quota,
 * makes a key whose secret is shown once and works, revokes it after a
 * confirmation (it then gets 401) and finds that in the audit log filtered
 * by action; a tenant's own admin sees the server's 403 as a message; a
 * user key has no admin navigation and is told it needs an admin key.
 * Every page is checked with axe-core and screenshotted.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPage, createKey, launchBrowser, newPage, rest, signIn, startServer, statusOf, type Server } from './harness';

const TENANT = 'lab-two';

let server: Server;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: string[];
let key = { keyId: '', secret: '' };

/** A fresh tab (no key kept) signed in with `secret`. */
async function freshPage(secret: string) {
  await context?.close();
  ({ context, page, problems } = await newPage(browser));
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  await signIn(page, server, secret);
}

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  await freshPage(server.adminKey);
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

describe('the admin pages', () => {
  it('are in the navigation of an admin key and list the tenants with their quotas', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    const row = page.getByRole('table', { name: /Tenants/ }).getByRole('row').filter({ hasText: 'default' });
    await row.waitFor();
    expect(await row.locator('td.num').count()).toBe(5);
    await checkPage(page, problems, 'admin-01-tenants');
  });

  it('refuses a bad tenant id beside its field, then creates the tenant', async () => {
    const id = page.getByLabel('Tenant id');
    await id.fill('Lab_2');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await expect.poll(() => id.getAttribute('aria-invalid')).toBe('true');
    // The server's words, tied to the input it names and read with it.
    const described = (await id.getAttribute('aria-describedby')) ?? '';
    const fieldError = page.locator(`[id="${described.split(' ').find((d) => d.endsWith('-error'))}"]`);
    expect(await fieldError.textContent()).toMatch(/Lab_2/);
    await expect.poll(() => id.evaluate((el) => el === document.activeElement)).toBe(true);
    await checkPage(page, problems, 'admin-02-tenant-refused');

    await id.fill(TENANT);
    await page.getByLabel('Name', { exact: true }).fill('Lab two');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await page.waitForURL(new RegExp(`#/admin/tenants/${TENANT}$`));
    await page.getByRole('heading', { name: `Tenant ${TENANT}`, level: 1 }).waitFor();
  });

  it('shows a refused quota beside its field, then sets the quota', async () => {
    const jobs = page.getByLabel('Concurrent jobs');
    await expect.poll(() => jobs.inputValue()).not.toBe('');
    await jobs.fill('-3');
    await page.getByRole('button', { name: 'Save name and quotas' }).click();
    await expect.poll(() => jobs.getAttribute('aria-invalid')).toBe('true');
    await checkPage(page, problems, 'admin-03-quota-refused');

    await jobs.fill('3');
    await page.getByRole('button', { name: 'Save name and quotas' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    expect(await jobs.getAttribute('aria-invalid')).toBeNull();
    const tenant = await rest<{ quotas: { maxConcurrentJobs: number } }>(server, server.adminKey, 'GET', `/v1/tenants/${TENANT}`);
    expect(tenant.quotas.maxConcurrentJobs).toBe(3);
    await checkPage(page, problems, 'admin-04-quota-saved');
  });

  it('creates a key whose secret is shown once, can be copied and works', async () => {
    await page.getByLabel('Key name').fill('pipeline');
    await page.getByLabel('Role').selectOption({ label: 'user' });
    await page.getByRole('button', { name: 'Create key' }).click();
    const panel = page.getByRole('region', { name: /^New user key/ });
    await panel.waitFor();
    expect(await panel.textContent()).toContain('you will not see it again');
    const secret = await panel.getByLabel('Secret').inputValue();
    expect(secret).toMatch(/^mbk_/);
    await panel.getByRole('button', { name: 'Copy' }).click();
    await panel.getByRole('status').filter({ hasText: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await checkPage(page, problems, 'admin-05-key-secret');

    const whoami = await rest<{ keyId: string; tenantId: string; role: string }>(server, secret, 'GET', '/v1/whoami');
    expect(whoami).toMatchObject({ tenantId: TENANT, role: 'ROLE_USER' });
    key = { keyId: whoami.keyId, secret };

    await panel.getByRole('button', { name: 'Done' }).click();
    await panel.waitFor({ state: 'detached' });
    const row = page.getByRole('row').filter({ hasText: key.keyId });
    expect(await row.textContent()).toContain('Active');
    // Shown once: not in the list, not after a reload.
    await page.reload();
    await page.getByRole('row').filter({ hasText: key.keyId }).waitFor();
    expect(await page.content()).not.toContain(secret);
  });

  it('revokes the key only after a confirmation, and the key then gets 401', async () => {
    const row = page.getByRole('row').filter({ hasText: key.keyId });
    await row.getByRole('button', { name: 'Revoke key pipeline' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke key pipeline?' });
    await dialog.waitFor();
    await checkPage(page, problems, 'admin-06-revoke-confirm');
    // The keyboard: "Keep it" has focus, Escape closes, focus goes back to the row's button.
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Keep it');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Revoke key pipeline');
    await page.keyboard.press('Enter');
    await dialog.getByRole('button', { name: 'Keep it' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await statusOf(server, key.secret, '/v1/whoami')).toBe(200);

    await row.getByRole('button', { name: 'Revoke key pipeline' }).click();
    await dialog.getByRole('button', { name: 'Revoke key' }).click();
    await dialog.waitFor({ state: 'detached' });
    await row.getByText(/^Revoked/).waitFor();
    expect(await row.getByRole('button', { name: /Revoke/ }).count()).toBe(0);
    expect(await statusOf(server, key.secret, '/v1/whoami')).toBe(401);
    await checkPage(page, problems, 'admin-07-key-revoked');
  });

  it('reads the audit log filtered to that action', async () => {
    await page.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'Audit log' }).click();
    const table = page.getByRole('table', { name: /Audit events/ });
    await table.waitFor();
    const actions = await table.locator('tbody th').allTextContents();
    expect(actions).toEqual(expect.arrayContaining(['CreateTenant', 'UpdateTenant', 'CreateApiKey', 'RevokeApiKey']));
    await checkPage(page, problems, 'admin-08-audit');

    await page.getByLabel('Action').fill('RevokeApiKey');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/#\/admin\/audit\?action=RevokeApiKey$/);
    await expect.poll(() => table.locator('tbody tr').count()).toBe(1);
    const row = table.locator('tbody tr').first();
    expect(await row.locator('th').textContent()).toBe('RevokeApiKey');
    expect(await row.textContent()).toContain(key.keyId);
    expect(await row.textContent()).toContain(TENANT);
    await checkPage(page, problems, 'admin-09-audit-filtered');

    // A range that starts after every event holds none of them.
    await page.getByLabel('From').fill('2099-01-01T00:00');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No events match.').waitFor();
  });

  it('pages the tenants and the audit log, filtered and not', async () => {
    for (let i = 0; i < 26; i++) {
      await rest(server, server.adminKey, 'POST', '/v1/tenants', { tenantId: `paged-${String(i).padStart(2, '0')}` });
    }
    // default, lab-two and 26 more: 28 tenants; 27 CreateTenant events (the bootstrap's tenant has none).
    await page.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'Tenants' }).click();
    const tenants = page.getByRole('table', { name: /Tenants/ });
    const pager = page.getByRole('navigation', { name: 'Tenants pages' });
    await expect.poll(() => pager.textContent()).toContain('1–25 of 28');
    expect(await tenants.locator('tbody tr').count()).toBe(25);
    await pager.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => tenants.locator('tbody tr').count()).toBe(3);
    expect(await pager.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);

    await page.goto(`${server.url}/#/admin/audit?action=createtenant`);
    const events = page.getByRole('table', { name: /Audit events/ });
    const auditPager = page.getByRole('navigation', { name: 'Audit log pages' });
    await page.getByLabel('Per page').selectOption('25');
    await expect.poll(() => events.locator('tbody tr').count()).toBe(25);
    const firstOfPage1 = await events.locator('tbody tr').first().textContent();
    await auditPager.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('table', { name: /Audit events, page 2/ }).waitFor();
    await expect.poll(() => events.locator('tbody th').allTextContents()).toEqual(['CreateTenant', 'CreateTenant']);
    expect(await events.textContent()).toContain(TENANT);
    expect(await auditPager.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
    await auditPager.getByRole('button', { name: 'Previous' }).click();
    await page.getByRole('table', { name: /Audit events, page 1/ }).waitFor();
    // The caption can change a frame before the rows do.
    await expect.poll(() => events.locator('tbody tr').first().textContent()).toBe(firstOfPage1);
    await checkPage(page, problems, 'admin-10-audit-paged');

    // Unfiltered, a page is a server page: 27 CreateTenant, UpdateTenant, CreateApiKey, RevokeApiKey.
    await page.getByRole('link', { name: 'Clear' }).click();
    await page.waitForURL(/#\/admin\/audit$/);
    // The unfiltered log is a page of its own (50 per page): all 30 events. Only once it shows
    // is the page-size choice made on it rather than on the filtered page it replaces.
    await expect.poll(() => events.locator('tbody tr').count()).toBe(30);
    await page.getByLabel('Per page').selectOption('25');
    await expect.poll(() => events.locator('tbody tr').count()).toBe(25);
    await auditPager.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('table', { name: /Audit events, page 2/ }).waitFor();
    await expect.poll(() => events.locator('tbody tr').count()).toBe(5);
    expect(await auditPager.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
  });

  it("shows a tenant admin the server's refusal (403) as a message", async () => {
    const tenantAdmin = await createKey(server, TENANT, 'ROLE_ADMIN', 'lab admin');
    await freshPage(tenantAdmin.secret);
    await page.goto(`${server.url}/#/admin`);
    const table = page.getByRole('table', { name: /Tenants/ });
    await expect.poll(() => table.locator('tbody tr').allTextContents()).toEqual([expect.stringContaining(TENANT)]);
    await page.getByLabel('Tenant id').fill('lab-three');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'The tenant was not created' });
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/only admins of the operator tenant/);
    await checkPage(page, problems, 'admin-11-forbidden');
  });

  it('shows a user key no admin navigation and tells it, on #/admin, that it needs an admin key', async () => {
    const user = await createKey(server, 'default', 'ROLE_USER', 'browser test user');
    await freshPage(user.secret);
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).count()).toBe(0);
    await page.goto(`${server.url}/#/admin`);
    await page.getByText('These pages need an admin key').waitFor();
    expect(await page.getByRole('heading', { name: 'Tenants' }).count()).toBe(0);
    await checkPage(page, problems, 'admin-12-needs-admin');
  });
});
