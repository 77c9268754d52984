import { useId } from 'react';
import { Badge } from '../../../components/badge';
import { formatDateTime, formatRelative } from '../../../lib/format';
import type { SessionSummary } from '../api';

/** One signed-in device: what it is, its details, and a sign-out button unless it is this one. */
export function SessionItem({
  session,
  device,
  onSignOut,
}: {
  session: SessionSummary;
  device: string;
  onSignOut: () => void;
}) {
  const headingId = useId();
  return (
    <li className="session-item" aria-labelledby={headingId}>
      <div className="session-main">
        <h3 id={headingId} className="session-device">
          {device} {session.current && <Badge tone="info">This device</Badge>}
        </h3>
        <SessionDetails session={session} />
      </div>
      {!session.current && (
        <button
          type="button"
          className="button button-secondary session-action"
          aria-describedby={headingId}
          onClick={onSignOut}
        >
          Sign out
        </button>
      )}
    </li>
  );
}

/** The same three columns in every row, so they line up down the list. */
function SessionDetails({ session }: { session: SessionSummary }) {
  return (
    <dl className="session-details">
      <div>
        <dt>Signed in</dt>
        <dd>
          <time dateTime={session.createdAt}>{formatDateTime(session.createdAt)}</time>
        </dd>
      </div>
      <div>
        <dt>Last active</dt>
        <dd>
          <time dateTime={session.lastSeenAt} title={formatDateTime(session.lastSeenAt)}>
            {session.current ? 'Now' : formatRelative(session.lastSeenAt)}
          </time>
        </dd>
      </div>
      <div>
        <dt>IP address</dt>
        <dd>{session.ip || 'Unknown'}</dd>
      </div>
    </dl>
  );
}
