import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import type { ApiKey, ApiRole, ListApiKeysResponse } from '../../api/types';
import { useSession } from '../../app/session';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field, useFocusFirstInvalid } from './Field';
import { placeViolations } from './fields';
import { localTime, roleLabel, ROLES } from './format';

/** A tenant's API keys: a form that makes one (its secret shown once), the list, and revoking with a confirmation. */
export function Keys({ tenantId }: { tenantId: string }) {
  const { client } = useSession();
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<ApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    client
      .get<ListApiKeysResponse>(`/v1/tenants/${encodeURIComponent(tenantId)}/keys`, undefined, { signal: controller.signal })
      .then((r) => setKeys(r.keys ?? []))
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      });
    return () => controller.abort();
  }, [client, tenantId]);

  const replace = useCallback((key: ApiKey) => {
    setKeys((ks) => (ks ?? []).map((k) => (k.keyId === key.keyId ? key : k)));
  }, []);

  return (
    <section aria-labelledby="keys-heading">
      <h2 id="keys-heading">API keys</h2>
      <CreateKey
        tenantId={tenantId}
        onCreated={(key) => {
          setCreated(key);
          // The list never holds a secret.
          setKeys((ks) => [{ ...key, secret: '' }, ...(ks ?? [])]);
        }}
      />
      {created && <NewSecret apiKey={created} onDone={() => setCreated(null)} />}
      <ErrorMessage error={error} title="The keys could not be listed" />
      {keys && keys.length === 0 && <p className="empty">No keys yet.</p>}
      {keys && keys.length > 0 && (
        <div className="table-wrap">
          <table className="data">
            <caption className="visually-hidden">API keys of {tenantId}, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key id</th>
                <th scope="col">Role</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.keyId}>
                  <th scope="row">{k.name || <span className="hint">(no name)</span>}</th>
                  <td>
                    <code>{k.keyId}</code>
                  </td>
                  <td>{roleLabel(k.role)}</td>
                  <td>
                    {k.revokeTime ? (
                      <span className="badge state-cancelled" title={`Revoked ${localTime(k.revokeTime)}`}>
                        Revoked {localTime(k.revokeTime)}
                      </span>
                    ) : (
                      <span className="badge state-completed">Active</span>
                    )}
                  </td>
                  <td>{localTime(k.createTime)}</td>
                  <td>
                    {!k.revokeTime && (
                      <button type="button" className="small danger" onClick={() => setRevoking(k)} aria-label={`Revoke ${keyTitle(k)}`}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {revoking && <RevokeDialog apiKey={revoking} onRevoked={replace} onClose={() => setRevoking(null)} />}
    </section>
  );
}

/** How a key is named to people: its note, else its id. */
function keyTitle(key: ApiKey): string {
  return key.name ? `key ${key.name}` : `key ${key.keyId ?? ''}`;
}

const KEY_FIELDS = ['name', 'role'];

function CreateKey({ tenantId, onCreated }: { tenantId: string; onCreated: (key: ApiKey) => void }) {
  const { client } = useSession();
  const [name, setName] = useState('');
  const [role, setRole] = useState<ApiRole>('ROLE_USER');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const form = useRef<HTMLFormElement>(null);
  useFocusFirstInvalid(form, error);
  const { byField, rest } = placeViolations(error, KEY_FIELDS);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const key = await client.post<ApiKey>(`/v1/tenants/${encodeURIComponent(tenantId)}/keys`, { name: name.trim(), role });
      setName('');
      onCreated(key);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const roleError = byField['role'];
  return (
    <form ref={form} onSubmit={submit} className="admin-form" aria-labelledby="create-key-heading" noValidate>
      <h3 id="create-key-heading">New key</h3>
      <ErrorMessage error={rest} title="The key was not created" />
      <div className="field-grid">
        <Field id="key-name" label="Key name" hint="What the key is for, e.g. “pipeline on lab-server-2”." autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} error={byField['name']} />
        <div className="field">
          <label htmlFor="key-role">Role</label>
          <select
            id="key-role"
            value={role}
            onChange={(e) => setRole(e.target.value as ApiRole)}
            aria-invalid={roleError ? true : undefined}
            aria-describedby={`key-role-hint${roleError ? ' key-role-error' : ''}`}
          >
            {ROLES.map((r) => (
              <option key={r.role} value={r.role}>
                {r.label}
              </option>
            ))}
          </select>
          <span id="key-role-hint" className="hint">
            {ROLES.find((r) => r.role === role)?.hint}
          </span>
          {roleError && (
            <span id="key-role-error" className="field-error">
              {roleError}
            </span>
          )}
        </div>
      </div>
      <div className="submit-row">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create key'}
        </button>
      </div>
    </form>
  );
}

/** A new key's secret, shown this once, with a copy button. */
function NewSecret({ apiKey, onDone }: { apiKey: ApiKey; onDone: () => void }) {
  const [copied, setCopied] = useState<string>('');
  const heading = useRef<HTMLHeadingElement>(null);
  const secret = useRef<HTMLInputElement>(null);
  useEffect(() => heading.current?.focus(), [apiKey]);

  async function copy() {
    try {
      await navigator.clipboard.writeText(apiKey.secret ?? '');
      setCopied('Copied to the clipboard.');
    } catch {
      secret.current?.select();
      setCopied('The browser did not allow copying: the secret is selected, press Ctrl+C (⌘C on a Mac).');
    }
  }

  return (
    <section className="secret-panel" aria-labelledby="new-secret-heading">
      <h3 id="new-secret-heading" ref={heading} tabIndex={-1}>
        New {roleLabel(apiKey.role)} key {apiKey.name ? `“${apiKey.name}”` : <code>{apiKey.keyId}</code>}
      </h3>
      <p className="secret-warning">
        <strong>Copy this secret now: you will not see it again.</strong> molbatch keeps only a hash of it; if it is lost, revoke
        the key and make another.
      </p>
      <div className="secret-row">
        <label htmlFor="new-secret">Secret</label>
        <input id="new-secret" ref={secret} className="secret" readOnly value={apiKey.secret ?? ''} spellCheck={false} onFocus={(e) => e.target.select()} />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" onClick={onDone}>
          Done
        </button>
      </div>
      <p role="status" className="hint">
        {copied}
      </p>
    </section>
  );
}

/** "Revoke this key?": a modal dialog (Escape or "Keep it" closes it, and the browser puts focus back); the key stops working at once. */
function RevokeDialog({ apiKey, onRevoked, onClose }: { apiKey: ApiKey; onRevoked: (key: ApiKey) => void; onClose: () => void }) {
  const { client } = useSession();
  const dialog = useRef<HTMLDialogElement>(null);
  const keep = useRef<HTMLButtonElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
    // showModal focuses the first button; the safe choice gets focus, so Enter does not revoke.
    keep.current?.focus();
    return () => d?.close();
  }, []);

  async function revoke() {
    setBusy(true);
    setError(null);
    try {
      const revoked = await client.post<ApiKey>(`/v1/keys/${encodeURIComponent(apiKey.keyId ?? '')}:revoke`, {});
      onRevoked(revoked);
      dialog.current?.close();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <dialog ref={dialog} className="confirm" aria-labelledby="revoke-heading" aria-describedby="revoke-text" onClose={onClose}>
      <h2 id="revoke-heading">Revoke {keyTitle(apiKey)}?</h2>
      <p id="revoke-text">
        Key <code>{apiKey.keyId}</code> ({roleLabel(apiKey.role)}) stops working at once: every program using it is refused from
        its next request. This cannot be undone.
      </p>
      <ErrorMessage error={error} title="The key was not revoked" />
      <div className="button-row">
        <button type="button" className="danger" disabled={busy} onClick={() => void revoke()}>
          {busy ? 'Revoking…' : 'Revoke key'}
        </button>
        <button type="button" ref={keep} onClick={() => dialog.current?.close()}>
          Keep it
        </button>
      </div>
    </dialog>
  );
}
