import { useEffect, useMemo, useState, type FormEvent } from 'react';
import type { AuditEvent, ListAuditEventsResponse } from '../../api/types';
import { href, navigate } from '../../app/route';
import { useSession } from '../../app/session';
import { ErrorMessage } from '../../components/ErrorMessage';
import { PageSizeSelect } from '../../components/PageSizeSelect';
import { Pager } from '../../components/Pager';
import { count } from '../../lib/format';
import { firstPage, nextPage, pageNumber, previousPage } from '../../lib/tokens';
import { auditPage, cursorOf, cursorText, filterOf, filterProblems, filterQuery, KNOWN_ACTIONS, matcherOf, type AuditFilter } from './audit';
import { Field } from './Field';
import { localTime } from './format';

/** The audit log, newest first, filtered by the address's query (`#/admin/audit?tenant=…&action=…`) and paged. */
export function AuditPage({ query }: { query: string }) {
  const { client } = useSession();
  const filter = useMemo(() => filterOf(new URLSearchParams(query)), [query]);
  const problems = filterProblems(filter);
  const usable = Object.keys(problems).length === 0;
  const [pageSize, setPageSize] = useState(50);
  const [tokens, setTokens] = useState(firstPage);
  const [page, setPage] = useState<{ events: AuditEvent[]; next: string | null; searched: number; of: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  // Which page is asked for; the one shown is stale (loading) until they agree.
  const asked = `${tokens.current}|${pageSize}`;

  useEffect(() => {
    if (!usable) return;
    const controller = new AbortController();
    const read = (pageToken: string, size: number) =>
      client.get<ListAuditEventsResponse>('/v1/audit', { tenantId: filter.tenant, pageSize: size, pageToken }, { signal: controller.signal });
    auditPage(read, filter, cursorOf(tokens.current), pageSize)
      .then((p) => {
        // A page read before the filter or size changed may arrive after the new one.
        if (controller.signal.aborted) return;
        setPage({ events: p.events, next: p.next && cursorText(p.next), searched: p.searched, of: `${tokens.current}|${pageSize}` });
        setError(null);
      })
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      });
    return () => controller.abort();
  }, [client, filter, usable, tokens, pageSize]);
  const loading = usable && !error && page?.of !== asked;

  const events = page?.events ?? [];
  const filtered = matcherOf(filter) !== null;
  const searched = filtered && page ? `, ${count(page.searched)} events searched` : '';
  return (
    <>
      <h1>Audit log</h1>
      <p className="hint">Admin and destructive actions, newest first.</p>
      <AuditFilters filter={filter} problems={problems} />
      <ErrorMessage error={error} title="The audit log could not be read" />
      <div className="toolbar">
        <PageSizeSelect
          value={pageSize}
          onChange={(size) => {
            setPageSize(size);
            setTokens(firstPage);
          }}
        />
        <Pager
          label="Audit log pages"
          canPrevious={tokens.previous.length > 0}
          canNext={!!page?.next}
          onPrevious={() => setTokens(previousPage(tokens))}
          onNext={() => page?.next && setTokens(nextPage(tokens, page.next))}
          text={page ? `Page ${pageNumber(tokens)}${searched}` : ''}
        />
      </div>
      {page && events.length === 0 && (
        <p className="empty">{page.next ? 'No matching events yet in what was searched; Next searches further.' : 'No events match.'}</p>
      )}
      {events.length > 0 && (
        <div className="table-wrap" aria-busy={loading}>
          <table className="data">
            <caption className="visually-hidden">Audit events, page {pageNumber(tokens)}, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Action</th>
                <th scope="col">Tenant</th>
                <th scope="col">Target</th>
                <th scope="col">Actor key</th>
                <th scope="col">Actor tenant</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e, i) => (
                <tr key={`${e.time ?? ''}/${e.action ?? ''}/${e.target ?? ''}/${i}`}>
                  <td>
                    <time dateTime={e.time}>{localTime(e.time)}</time>
                  </td>
                  <th scope="row">{e.action}</th>
                  <td>{e.tenantId && <a href={href({ page: 'adminTenant', tenantId: e.tenantId })}>{e.tenantId}</a>}</td>
                  <td>
                    <code className="wrap">{e.target}</code>
                  </td>
                  <td>
                    <code>{e.actorKeyId}</code>
                  </td>
                  <td>{e.actorTenantId}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** The filter form; applying it puts the filters in the address, so a filtered log can be bookmarked. */
function AuditFilters({ filter, problems }: { filter: AuditFilter; problems: Partial<Record<keyof AuditFilter, string>> }) {
  const [draft, setDraft] = useState(filter);
  const set = (name: keyof AuditFilter) => (e: { target: { value: string } }) => setDraft({ ...draft, [name]: e.target.value });

  function apply(e: FormEvent) {
    e.preventDefault();
    navigate({ page: 'adminAudit', query: filterQuery(draft).slice(1) });
  }

  return (
    <form onSubmit={apply} className="admin-form filters" aria-label="Filter the audit log" noValidate>
      <div className="filter-grid">
        <Field id="audit-tenant" label="Tenant" hint="The tenant acted upon." autoComplete="off" spellCheck={false} value={draft.tenant} onChange={set('tenant')} />
        <Field id="audit-actor" label="Actor key" hint="The key id that acted." autoComplete="off" spellCheck={false} value={draft.actor} onChange={set('actor')} />
        <Field id="audit-action" label="Action" hint="e.g. RevokeApiKey" list="audit-actions" autoComplete="off" spellCheck={false} value={draft.action} onChange={set('action')} />
        <datalist id="audit-actions">
          {KNOWN_ACTIONS.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <Field id="audit-from" label="From" hint="Your local time." type="datetime-local" step={1} value={draft.from} onChange={set('from')} error={problems.from} />
        <Field id="audit-to" label="To" hint="Your local time." type="datetime-local" step={1} value={draft.to} onChange={set('to')} error={problems.to} />
      </div>
      <div className="button-row">
        <button type="submit" className="primary">
          Apply filters
        </button>
        <a className="button" href={href({ page: 'adminAudit', query: '' })}>
          Clear
        </a>
      </div>
    </form>
  );
}
