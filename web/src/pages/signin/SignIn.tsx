import { useState, type FormEvent } from 'react';
import { ApiError, Client } from '../../api/client';
import type { WhoAmIResponse } from '../../api/types';
import { ErrorMessage } from '../../components/ErrorMessage';

/** Asks for an API key once and checks it with `GET /v1/whoami`. */
export function SignIn({ onSignedIn, notice }: { onSignedIn: (key: string, whoami: WhoAmIResponse) => void; notice: string | null }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError(new Error('Enter your API key: it starts with mbk_.'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const whoami = await new Client(trimmed).get<WhoAmIResponse>('/v1/whoami');
      onSignedIn(trimmed, whoami);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        setError(new ApiError(401, err.code, `This API key was not accepted: ${err.message}`));
      } else {
        setError(err);
      }
      setBusy(false);
    }
  }

  return (
    <main id="main" className="signin">
      <h1>Sign in to molbatch</h1>
      <p>
        Paste the API key your administrator gave you (<code>mbk_…</code>). It is kept only in this browser tab and
        forgotten when you close it.
      </p>
      {notice && <p className="notice" role="status">{notice}</p>}
      <form onSubmit={submit} className="signin-form" noValidate>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-describedby={error ? 'signin-error' : undefined}
          required
        />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
      <div id="signin-error">
        <ErrorMessage error={error} />
      </div>
    </main>
  );
}
