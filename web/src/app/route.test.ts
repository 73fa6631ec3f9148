import { describe, expect, it } from 'vitest';
import { href, parseRoute, type Route } from './route';

describe('admin routes', () => {
  it('read #/admin as the tenants list, a tenant by id, and the audit log with its query', () => {
    expect(parseRoute('#/admin')).toEqual({ page: 'adminTenants' });
    expect(parseRoute('#/admin/tenants/')).toEqual({ page: 'adminTenants' });
    expect(parseRoute('#/admin/tenants/lab-2')).toEqual({ page: 'adminTenant', tenantId: 'lab-2' });
    expect(parseRoute('#/admin/audit?tenant=lab&action=RevokeApiKey')).toEqual({ page: 'adminAudit', query: 'tenant=lab&action=RevokeApiKey' });
    expect(parseRoute('#/admin/keys')).toEqual({ page: 'notFound', path: '/admin/keys' });
    expect(parseRoute('#/administrator')).toEqual({ page: 'notFound', path: '/administrator' });
  });

  it('write each admin route back to the address it came from', () => {
    const routes: Route[] = [{ page: 'adminTenants' }, { page: 'adminTenant', tenantId: 'a b' }, { page: 'adminAudit', query: 'action=CancelJob' }, { page: 'adminAudit', query: '' }];
    for (const route of routes) expect(parseRoute(href(route))).toEqual(route);
  });
});

describe('analysis routes', () => {
  it('keep a view\'s state after ? (a substructure search), SMILES escaped', () => {
    expect(parseRoute('#/jobs/j1/analyses/substructure?q=c1ccc2%5BnH%5Dccc2c1&syntax=smarts')).toEqual({
      page: 'analyses',
      jobId: 'j1',
      view: 'substructure',
      query: 'q=c1ccc2%5BnH%5Dccc2c1&syntax=smarts',
    });
    expect(parseRoute('#/jobs/j1/analyses/substructure?')).toEqual({ page: 'analyses', jobId: 'j1', view: 'substructure' });
    expect(parseRoute('#/jobs/j1/analyses/scaffolds')).toEqual({ page: 'analyses', jobId: 'j1', view: 'scaffolds' });
    expect(parseRoute('#/jobs/j1/analyses?q=C')).toEqual({ page: 'notFound', path: '/jobs/j1/analyses?q=C' });
    expect(parseRoute('#/jobs/j1?q=C')).toEqual({ page: 'notFound', path: '/jobs/j1?q=C' });
    const routes: Route[] = [
      { page: 'analyses', jobId: 'a b', view: 'substructure', query: 'q=F%2FC%3DC%2FF&chirality=1' },
      { page: 'analyses', jobId: 'j', view: 'substructure' },
      { page: 'analyses', jobId: 'j', view: '' },
    ];
    for (const route of routes) expect(parseRoute(href(route))).toEqual(route);
  });
});
