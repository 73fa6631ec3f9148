/**
 * Hash routes, so the server needs no fallback for deep links:
 * `#/jobs`, `#/jobs/<id>`, `#/jobs/<id>/molecules/<index>`, `#/upload`,
 * `#/jobs/<id>/analyses/<view>` (an analysis view, e.g. `scaffolds`), with
 * the view's own state after `?` when it has some (a substructure search's query);
 * for admin keys `#/admin/tenants`, `#/admin/tenants/<id>`,
 * `#/admin/audit?<filters>`.
 */
export type Route =
  | { page: 'jobs' }
  | { page: 'upload' }
  | { page: 'job'; jobId: string }
  | { page: 'molecule'; jobId: string; index: number }
  | { page: 'analyses'; jobId: string; view: string; query?: string }
  | { page: 'adminTenants' }
  | { page: 'adminTenant'; tenantId: string }
  | { page: 'adminAudit'; query: string }
  | { page: 'notFound'; path: string };

/** One path segment, %-decoded when it can be. */
function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\/+$/, '');
  if (path === '' || path === '/' || path === '/jobs') return { page: 'jobs' };
  if (path === '/upload') return { page: 'upload' };
  if (path === '/admin' || path.startsWith('/admin/') || path.startsWith('/admin?')) return adminRoute(path);
  const q = path.indexOf('?');
  if (q >= 0) return routeWithQuery(path, q);
  const parts = path.split('/').slice(1).map(decodePart);
  if (parts[0] === 'jobs' && parts.length === 2 && parts[1]) return { page: 'job', jobId: parts[1] };
  if (parts[0] === 'jobs' && parts.length === 4 && parts[1] && parts[2] === 'molecules' && /^\d+$/.test(parts[3] ?? '')) {
    return { page: 'molecule', jobId: parts[1], index: Number(parts[3]) };
  }
  if (parts[0] === 'jobs' && parts[1] && parts[2] === 'analyses' && parts.length <= 4) {
    return { page: 'analyses', jobId: parts[1], view: parts[3] ?? '' };
  }
  return { page: 'notFound', path };
}

/** Only an analysis view has state in a query: `/jobs/<id>/analyses/<view>?<query>`. */
function routeWithQuery(path: string, q: number): Route {
  const route = parseRoute(path.slice(0, q));
  if (route.page !== 'analyses' || !route.view) return { page: 'notFound', path };
  const query = path.slice(q + 1);
  return query ? { ...route, query } : route;
}

/** The admin pages: `#/admin` is the tenants list; the audit log keeps its filters in the query. */
function adminRoute(path: string): Route {
  const q = path.indexOf('?');
  const query = q < 0 ? '' : path.slice(q + 1);
  const parts = (q < 0 ? path : path.slice(0, q)).replace(/\/+$/, '').split('/').slice(2).map(decodePart);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'tenants')) return { page: 'adminTenants' };
  if (parts[0] === 'tenants' && parts.length === 2 && parts[1]) return { page: 'adminTenant', tenantId: parts[1] };
  if (parts[0] === 'audit' && parts.length === 1) return { page: 'adminAudit', query };
  return { page: 'notFound', path };
}

export function href(route: Route): string {
  switch (route.page) {
    case 'jobs':
      return '#/jobs';
    case 'upload':
      return '#/upload';
    case 'job':
      return `#/jobs/${encodeURIComponent(route.jobId)}`;
    case 'molecule':
      return `#/jobs/${encodeURIComponent(route.jobId)}/molecules/${route.index}`;
    case 'analyses':
      return `#/jobs/${encodeURIComponent(route.jobId)}/analyses${route.view ? `/${encodeURIComponent(route.view)}` : ''}${route.view && route.query ? `?${route.query}` : ''}`;
    case 'adminTenants':
      return '#/admin/tenants';
    case 'adminTenant':
      return `#/admin/tenants/${encodeURIComponent(route.tenantId)}`;
    case 'adminAudit':
      return `#/admin/audit${route.query ? `?${route.query}` : ''}`;
    case 'notFound':
      return `#${route.path}`;
  }
}

export function navigate(route: Route): void {
  window.location.hash = href(route);
}
