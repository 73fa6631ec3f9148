/**
 * The admin pages (tenants and quotas, API keys, the audit log), for admin
 * keys only: any other key gets a message saying so. The server decides
 * what an admin may do; its refusals (403) are shown as it words them.
 */
import type { Route } from '../../app/route';
import { useSession } from '../../app/session';
import { AuditPage } from './AuditPage';
import { TenantPage } from './TenantPage';
import { TenantsPage } from './TenantsPage';

export type AdminRoute = Extract<Route, { page: 'adminTenants' | 'adminTenant' | 'adminAudit' }>;

export default function AdminPages({ route }: { route: AdminRoute }) {
  const { role } = useSession();
  if (role !== 'admin') {
    return (
      <>
        <h1>Administration</h1>
        <div className="notice" role="status">
          <p>
            These pages need an admin key; yours has the <strong>{role}</strong> role. Ask an administrator, or sign out
            and sign in with an admin key.
          </p>
        </div>
        <p>
          Go to <a href="#/jobs">your jobs</a>.
        </p>
      </>
    );
  }
  return (
    <>
      <nav className="subnav" aria-label="Administration">
        <a href="#/admin/tenants" aria-current={route.page === 'adminTenants' ? 'page' : undefined}>
          Tenants
        </a>
        <a href="#/admin/audit" aria-current={route.page === 'adminAudit' ? 'page' : undefined}>
          Audit log
        </a>
      </nav>
      {route.page === 'adminTenants' && <TenantsPage />}
      {route.page === 'adminTenant' && <TenantPage key={route.tenantId} tenantId={route.tenantId} />}
      {route.page === 'adminAudit' && <AuditPage key={route.query} query={route.query} />}
    </>
  );
}
