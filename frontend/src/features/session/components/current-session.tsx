import { formatDateTime } from '../../../lib/format';
import { useSession } from '../api';

/** This browser's own session, from /api/session (RequireAuth has already loaded it). */
export function CurrentSession() {
  const { data } = useSession();
  if (!data?.authenticated || !data.user) return null;
  const { user } = data;
  return (
    <section className="card" aria-labelledby="current-session-heading">
      <h2 id="current-session-heading">This session</h2>
      <p>
        Signed in as <strong>{user.name || user.email}</strong>
        {user.name ? ` (${user.email})` : ''}.
      </p>
      {data.expiresAt && (
        <p className="muted">
          It ends by <time dateTime={data.expiresAt}>{formatDateTime(data.expiresAt)}</time> unless you sign
          out first.
        </p>
      )}
    </section>
  );
}
