/** How the admin pages write times and roles. */
import type { ApiRole } from '../../api/types';

const pad = (n: number) => String(n).padStart(2, '0');

/** A timestamp in this browser's time zone, `2026-12-04 15:30:12`; an en dash when absent. */
export function localTime(timestamp: string | undefined): string {
  const ms = timestamp ? Date.parse(timestamp) : NaN;
  if (!Number.isFinite(ms)) return '–';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The roles a key may have, as the API names them and as people read them. */
export const ROLES: { role: ApiRole; label: string; hint: string }[] = [
  { role: 'ROLE_VIEWER', label: 'viewer', hint: 'Reads jobs, results, analyses and exports.' },
  { role: 'ROLE_USER', label: 'user', hint: 'Reads, and also submits, cancels, runs analyses and exports.' },
  { role: 'ROLE_ADMIN', label: 'admin', hint: "Everything a user does, and manages the tenant's keys and reads its audit log." },
];

/** A role as people read it: viewer, user, admin. */
export function roleLabel(role: ApiRole | undefined): string {
  return ROLES.find((r) => r.role === role)?.label ?? 'unknown';
}
