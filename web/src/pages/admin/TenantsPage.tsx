import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { ListTenantsResponse, Tenant } from '../../api/types';
import { href, navigate } from '../../app/route';
import { useSession } from '../../app/session';
import { ErrorMessage } from '../../components/ErrorMessage';
import { PageSizeSelect } from '../../components/PageSizeSelect';
import { Pager } from '../../components/Pager';
import { count } from '../../lib/format';
import { Field, useFocusFirstInvalid } from './Field';
import { placeViolations, QUOTA_FIELDS, quotasBody, quotaText } from './fields';
import { localTime } from './format';
import { QuotaFields } from './QuotaFields';

/**
 * Every tenant the key may manage, with its quotas, and a form that creates
 * one. ListTenants answers all of them at once; the page shows them a page
 * at a time.
 */
export function TenantsPage() {
  const { client } = useSession();
  const [tenants, setTenants] = useState<Tenant[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [pageSize, setPageSize] = useState(25);
  const [pageIndex, setPageIndex] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    client
      .get<ListTenantsResponse>('/v1/tenants', undefined, { signal: controller.signal })
      .then((r) => setTenants(r.tenants ?? []))
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      });
    return () => controller.abort();
  }, [client]);

  const all = tenants ?? [];
  const start = pageIndex * pageSize;
  const shown = all.slice(start, start + pageSize);

  return (
    <>
      <h1>Tenants</h1>
      <ErrorMessage error={error} title="The tenants could not be listed" />
      {tenants && all.length === 0 && <p className="empty">No tenants you may manage.</p>}
      {all.length > 0 && (
        <>
          <div className="toolbar">
            <PageSizeSelect
              value={pageSize}
              onChange={(size) => {
                setPageSize(size);
                setPageIndex(0);
              }}
            />
            <Pager
              label="Tenants pages"
              canPrevious={pageIndex > 0}
              canNext={start + pageSize < all.length}
              onPrevious={() => setPageIndex(pageIndex - 1)}
              onNext={() => setPageIndex(pageIndex + 1)}
              text={`${count(start + 1)}–${count(start + shown.length)} of ${count(all.length)}`}
            />
          </div>
          <div className="table-wrap">
            <table className="data">
              <caption className="visually-hidden">Tenants, by id, with their quotas</caption>
              <thead>
                <tr>
                  <th scope="col">Tenant</th>
                  <th scope="col">Name</th>
                  {QUOTA_FIELDS.map((q) => (
                    <th key={q.name} scope="col" className="num" title={q.hint}>
                      {q.label}
                    </th>
                  ))}
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((t) => (
                  <tr key={t.tenantId}>
                    <th scope="row">
                      <a href={href({ page: 'adminTenant', tenantId: t.tenantId ?? '' })}>
                        <code>{t.tenantId}</code>
                      </a>
                    </th>
                    <td>{t.displayName}</td>
                    {QUOTA_FIELDS.map((q) => (
                      <td key={q.name} className="num">
                        {count(t.quotas?.[q.name])}
                      </td>
                    ))}
                    <td>{localTime(t.createTime)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <CreateTenant />
    </>
  );
}

const TENANT_FIELDS = ['tenant_id', 'display_name', ...QUOTA_FIELDS.map((q) => q.field)];

/** Creates a tenant, then opens its page (where its keys are made). */
function CreateTenant() {
  const { client } = useSession();
  const [tenantId, setTenantId] = useState('');
  const [name, setName] = useState('');
  const [quotas, setQuotas] = useState(() => quotaText(undefined));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const form = useRef<HTMLFormElement>(null);
  useFocusFirstInvalid(form, error);
  const { byField, rest } = placeViolations(error, TENANT_FIELDS);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const tenant = await client.post<Tenant>('/v1/tenants', { tenantId: tenantId.trim(), displayName: name.trim(), quotas: quotasBody(quotas) });
      navigate({ page: 'adminTenant', tenantId: tenant.tenantId ?? tenantId.trim() });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="create-tenant-heading">
      <h2 id="create-tenant-heading">New tenant</h2>
      <form ref={form} onSubmit={submit} className="admin-form" noValidate>
        <ErrorMessage error={rest} title="The tenant was not created" />
        <div className="field-grid">
          <Field
            id="tenant-id"
            label="Tenant id"
            hint="Lowercase letters, digits and dashes, 1 to 63 characters."
            autoComplete="off"
            spellCheck={false}
            value={tenantId}
            onChange={(e) => setTenantId(e.target.value)}
            error={byField['tenant_id']}
            required
          />
          <Field id="tenant-name" label="Name" hint="A readable name." value={name} onChange={(e) => setName(e.target.value)} error={byField['display_name']} />
        </div>
        <QuotaFields idPrefix="new-tenant" text={quotas} onChange={setQuotas} errors={byField} />
        <div className="submit-row">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create tenant'}
          </button>
        </div>
      </form>
    </section>
  );
}
