/**
 * Hash routes, so the server needs no fallback for deep links:
 * `#/jobs`, `#/jobs/<id>`, `#/jobs/<id>/molecules/<index>`, `#/upload`,
 * `#/jobs/<id>/analyses/<view>` (an analysis view, e.g. `scaffolds`).
 */
export type Route =
  | { page: 'jobs' }
  | { page: 'upload' }
  | { page: 'job'; jobId: string }
  | { page: 'molecule'; jobId: string; index: number }
  | { page: 'analyses'; jobId: string; view: string }
  | { page: 'notFound'; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\/+$/, '');
  if (path === '' || path === '/' || path === '/jobs') return { page: 'jobs' };
  if (path === '/upload') return { page: 'upload' };
  const parts = path.split('/').slice(1).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  if (parts[0] === 'jobs' && parts.length === 2 && parts[1]) return { page: 'job', jobId: parts[1] };
  if (parts[0] === 'jobs' && parts.length === 4 && parts[1] && parts[2] === 'molecules' && /^\d+$/.test(parts[3] ?? '')) {
    return { page: 'molecule', jobId: parts[1], index: Number(parts[3]) };
  }
  if (parts[0] === 'jobs' && parts[1] && parts[2] === 'analyses' && parts.length <= 4) {
    return { page: 'analyses', jobId: parts[1], view: parts[3] ?? '' };
  }
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
      return `#/jobs/${encodeURIComponent(route.jobId)}/analyses${route.view ? `/${encodeURIComponent(route.view)}` : ''}`;
    case 'notFound':
      return `#${route.path}`;
  }
}

export function navigate(route: Route): void {
  window.location.hash = href(route);
}
