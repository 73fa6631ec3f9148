/**
 * The signed-in session: the API key (kept in sessionStorage only, so it
 * dies with the tab; never in a URL, never logged), who it is (tenant and
 * role from `GET /v1/whoami`) and the client that sends it.
 */
import { createContext, useContext } from 'react';
import type { Client } from '../api/client';
import type { WhoAmIResponse } from '../api/types';

const STORAGE_KEY = 'molbatch.apiKey';

export function storedKey(): string | null {
  try {
    return window.sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function storeKey(key: string | null): void {
  try {
    if (key === null) window.sessionStorage.removeItem(STORAGE_KEY);
    else window.sessionStorage.setItem(STORAGE_KEY, key);
  } catch {
    // Storage disabled: the session lasts until the page reloads.
  }
}

export type Role = 'viewer' | 'user' | 'admin';

export function roleOf(whoami: WhoAmIResponse): Role {
  switch (whoami.role) {
    case 'ROLE_ADMIN':
      return 'admin';
    case 'ROLE_USER':
      return 'user';
    default:
      return 'viewer';
  }
}

export interface Session {
  client: Client;
  tenant: string;
  role: Role;
  /** The key may submit, cancel, run and export (user and admin). */
  canWrite: boolean;
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}
