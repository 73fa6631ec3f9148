import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, Client } from '../api/client';
import type { WhoAmIResponse } from '../api/types';
import { ErrorMessage } from '../components/ErrorMessage';
import { JobPage } from '../pages/job/JobPage';
import { JobsPage } from '../pages/jobs/JobsPage';
import { MoleculePage } from '../pages/molecule/MoleculePage';
import { SignIn } from '../pages/signin/SignIn';
import { UploadPage } from '../pages/upload/UploadPage';
import { parseRoute, type Route } from './route';
import { roleOf, SessionContext, storedKey, storeKey, type Session } from './session';

// The analyses and their charts load only when a user opens one.
const AnalysesPage = lazy(() => import('../pages/job/analyses/AnalysesPage'));
// So are the admin pages, when an admin opens them.
const AdminPages = lazy(() => import('../pages/admin/AdminPages'));

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

type Auth =
  | { state: 'checking'; key: string }
  | { state: 'signedOut'; notice: string | null }
  | { state: 'signedIn'; key: string; whoami: WhoAmIResponse }
  | { state: 'unreachable'; key: string; error: unknown };

const TITLES: Record<Route['page'], string> = {
  jobs: 'Jobs',
  upload: 'New batch',
  job: 'Job',
  molecule: 'Molecule',
  analyses: 'Analyses',
  adminTenants: 'Tenants',
  adminTenant: 'Tenant',
  adminAudit: 'Audit log',
  notFound: 'Page not found',
};

export function App() {
  const route = useRoute();
  const [auth, setAuth] = useState<Auth>(() => {
    const key = storedKey();
    return key ? { state: 'checking', key } : { state: 'signedOut', notice: null };
  });

  const signOut = useCallback((notice: string | null = null) => {
    storeKey(null);
    setAuth({ state: 'signedOut', notice });
  }, []);

  // A key kept from earlier in this tab is checked again on load.
  const checkingKey = auth.state === 'checking' ? auth.key : null;
  useEffect(() => {
    if (!checkingKey) return;
    let live = true;
    new Client(checkingKey)
      .get<WhoAmIResponse>('/v1/whoami')
      .then((whoami) => live && setAuth({ state: 'signedIn', key: checkingKey, whoami }))
      .catch((e: unknown) => {
        if (!live) return;
        if (e instanceof ApiError && e.status === 401) signOut(`Your API key is no longer accepted: ${e.message}`);
        else setAuth({ state: 'unreachable', key: checkingKey, error: e });
      });
    return () => {
      live = false;
    };
  }, [checkingKey, signOut]);

  const signedInKey = auth.state === 'signedIn' ? auth.key : null;
  const client = useMemo(
    () =>
      signedInKey
        ? new Client(signedInKey, {
            onUnauthenticated: (e) => signOut(`Your API key is no longer accepted: ${e.message}`),
          })
        : null,
    [signedInKey, signOut],
  );

  const session = useMemo<Session | null>(() => {
    if (auth.state !== 'signedIn' || !client) return null;
    const role = roleOf(auth.whoami);
    return { client, tenant: auth.whoami.tenantId ?? '', role, canWrite: role !== 'viewer', signOut: () => signOut() };
  }, [auth, client, signOut]);

  useEffect(() => {
    document.title = session ? `${TITLES[route.page]} · molbatch` : 'Sign in · molbatch';
  }, [route.page, session]);

  if (auth.state === 'signedOut') {
    return (
      <>
        <Header />
        <SignIn
          notice={auth.notice}
          onSignedIn={(key, whoami) => {
            storeKey(key);
            setAuth({ state: 'signedIn', key, whoami });
          }}
        />
      </>
    );
  }
  if (auth.state === 'checking') {
    return (
      <>
        <Header />
        <main id="main" aria-busy="true">
          <p>Checking your API key…</p>
        </main>
      </>
    );
  }
  if (auth.state === 'unreachable' || !session) {
    return (
      <>
        <Header />
        <main id="main">
          <h1>molbatch</h1>
          <ErrorMessage error={auth.state === 'unreachable' ? auth.error : null} />
          <button type="button" onClick={() => window.location.reload()}>
            Try again
          </button>{' '}
          <button type="button" onClick={() => signOut()}>
            Sign in with another key
          </button>
        </main>
      </>
    );
  }

  return (
    <SessionContext.Provider value={session}>
      <Header session={session} route={route} />
      <main id="main">
        <Page route={route} />
      </main>
    </SessionContext.Provider>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'jobs':
      return <JobsPage />;
    case 'upload':
      return <UploadPage />;
    case 'job':
      return <JobPage key={route.jobId} jobId={route.jobId} />;
    case 'molecule':
      return <MoleculePage key={`${route.jobId}/${route.index}`} jobId={route.jobId} index={route.index} />;
    case 'analyses':
      return (
        <Suspense fallback={<p aria-busy="true">Loading the analyses…</p>}>
          <AnalysesPage key={route.jobId} jobId={route.jobId} view={route.view} query={route.query} />
        </Suspense>
      );
    case 'adminTenants':
    case 'adminTenant':
    case 'adminAudit':
      return (
        <Suspense fallback={<p aria-busy="true">Loading…</p>}>
          <AdminPages route={route} />
        </Suspense>
      );
    case 'notFound':
      return (
        <>
          <h1>Page not found</h1>
          <p>
            There is no page <code>{route.path}</code>. Go to <a href="#/jobs">your jobs</a>.
          </p>
        </>
      );
  }
}

function Header({ session, route }: { session?: Session; route?: Route }) {
  const current = (page: Route['page']) => (route?.page === page ? 'page' : undefined);
  return (
    <header className="topbar">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <a className="brand" href="#/jobs">
        molbatch
      </a>
      {session && (
        <>
          <nav aria-label="Main">
            <a href="#/jobs" aria-current={current('jobs')}>
              Jobs
            </a>
            {session.canWrite && (
              <a href="#/upload" aria-current={current('upload')}>
                New batch
              </a>
            )}
            {session.role === 'admin' && (
              <a href="#/admin/tenants" aria-current={route?.page.startsWith('admin') ? 'page' : undefined}>
                Admin
              </a>
            )}
          </nav>
          <div className="whoami">
            <span>
              Tenant <strong>{session.tenant}</strong>
            </span>
            <span>
              Role <strong>{session.role}</strong>
            </span>
            <button type="button" onClick={session.signOut}>
              Sign out
            </button>
          </div>
        </>
      )}
    </header>
  );
}
