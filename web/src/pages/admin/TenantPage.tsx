import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError } from '../../api/client';
import type { Tenant } from '../../api/types';
import { href } from '../../app/route';
import { useSession } from '../../app/session';
import { ErrorMessage } from '../../components/ErrorMessage';
import { filterQuery, NO_FILTER } from './audit';
import { Field, useFocusFirstInvalid } from './Field';
import { placeViolations, QUOTA_FIELDS, quotasBody, quotaText } from './fields';
import { localTime } from './format';
import { Keys } from './Keys';
import { QuotaFields } from './QuotaFields';

/** One tenant: its name and quotas (editable) and its API keys. */
export function TenantPage({ tenantId }: { tenantId: string }) {
  const { client } = useSession();
  const [tenant, setTenant] = useState<Tenant | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const controller = new AbortController();
    client
      .get<Tenant>(`/v1/tenants/${encodeURIComponent(tenantId)}`, undefined, { signal: controller.signal })
      .then(setTenant)
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      });
    return () => controller.abort();
  }, [client, tenantId]);

  const breadcrumb = (
    <p className="breadcrumb">
      <a href={href({ page: 'adminTenants' })}>Tenants</a> / {tenantId}
    </p>
  );
  if (error instanceof ApiError && error.status === 404) {
    return (
      <>
        {breadcrumb}
        <h1>Tenant not found</h1>
        <ErrorMessage error={error} />
      </>
    );
  }
  return (
    <>
      {breadcrumb}
      <div className="page-head">
        <h1>
          Tenant <code>{tenantId}</code>
        </h1>
        <a href={href({ page: 'adminAudit', query: filterQuery({ ...NO_FILTER, tenant: tenantId }).slice(1) })}>Audit log of this tenant</a>
      </div>
      <ErrorMessage error={error} />
      {tenant && (
        <>
          <p className="hint">Created {localTime(tenant.createTime)}.</p>
          <EditTenant tenant={tenant} onSaved={setTenant} />
        </>
      )}
      <Keys tenantId={tenantId} />
    </>
  );
}

const EDIT_FIELDS = ['display_name', ...QUOTA_FIELDS.map((q) => q.field)];

/** The tenant's name and quotas; saving sends UpdateTenant and shows what the server kept. */
function EditTenant({ tenant, onSaved }: { tenant: Tenant; onSaved: (t: Tenant) => void }) {
  const { client } = useSession();
  const [name, setName] = useState(tenant.displayName ?? '');
  const [quotas, setQuotas] = useState(() => quotaText(tenant.quotas));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  useFocusFirstInvalid(form, error);
  const { byField, rest } = placeViolations(error, EDIT_FIELDS);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      const path = `/v1/tenants/${encodeURIComponent(tenant.tenantId ?? '')}`;
      const body = JSON.stringify({ displayName: name.trim(), quotas: quotasBody(quotas) });
      const updated = (await (await client.raw('PATCH', path, { body })).json()) as Tenant;
      onSaved(updated);
      setName(updated.displayName ?? '');
      setQuotas(quotaText(updated.quotas));
      setSaved(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="edit-tenant-heading">
      <h2 id="edit-tenant-heading">Name and quotas</h2>
      <form ref={form} onSubmit={submit} className="admin-form" noValidate>
        <ErrorMessage error={rest} title="The tenant was not changed" />
        <div className="field-grid">
          <Field id="edit-tenant-name" label="Name" hint="Empty keeps the current name." value={name} onChange={(e) => setName(e.target.value)} error={byField['display_name']} />
        </div>
        <QuotaFields idPrefix="edit-tenant" text={quotas} onChange={setQuotas} errors={byField} />
        <div className="submit-row">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save name and quotas'}
          </button>{' '}
          <span role="status">{saved && 'Saved.'}</span>
        </div>
      </form>
    </section>
  );
}
