import { formatDateTime, formatDuration } from '../../../lib/format';
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
      {data.absoluteExpiresAt && data.idleTimeoutSeconds && (
        <p className="muted">
          You stay signed in until{' '}
          <time dateTime={data.absoluteExpiresAt}>{formatDateTime(data.absoluteExpiresAt)}</time> at the latest.
          After {formatDuration(data.idleTimeoutSeconds)} without activity you are signed out sooner.
        </p>
      )}
    </section>
  );
}
