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
