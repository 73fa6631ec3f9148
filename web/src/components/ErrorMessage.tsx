import { ApiError } from '../api/client';

/** An error as the server words it: its message and each refused field. */
export function ErrorMessage({ error, title }: { error: unknown; title?: string }) {
  if (error === null || error === undefined) return null;
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
  const violations = error instanceof ApiError ? error.violations : [];
  return (
    <div className="error" role="alert">
      {title && <p className="error-title">{title}</p>}
      <p>{message}</p>
      {violations.length > 0 && (
        <ul>
          {violations.map((v, i) => (
            <li key={i}>
              {v.field && <code>{v.field}</code>}
              {v.field && ': '}
              {v.description}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
