import { useId, useState } from 'react';
import { Badge } from '../../../components/badge';
import { ConfirmDialog } from '../../../components/confirm-dialog';
import { ErrorMessage } from '../../../components/error-message';
import { Loading } from '../../../components/loading';
import { formatDateTime, formatRelative } from '../../../lib/format';
import { useRevokeOtherSessions, useRevokeSession, useSessions, type SessionSummary } from '../api';
import { deviceLabels } from '../device-labels';

type Pending = { kind: 'one'; session: SessionSummary; device: string } | { kind: 'others' } | null;

export function SessionList() {
  const sessions = useSessions();
  const revokeOne = useRevokeSession();
  const revokeOthers = useRevokeOtherSessions();
  const [confirming, setConfirming] = useState<Pending>(null);
  const [status, setStatus] = useState('');
  const noOthersId = useId();

  if (sessions.isPending) return <Loading label="Loading your sessions…" />;
  if (sessions.isError) {
    return (
      <ErrorMessage
        title="We could not load your sessions"
        error={sessions.error}
        onRetry={() => void sessions.refetch()}
      />
    );
  }

  const others = sessions.data.filter((s) => !s.current);
  const labels = deviceLabels(sessions.data);
  const mutation = confirming?.kind === 'others' ? revokeOthers : revokeOne;

  function close() {
    setConfirming(null);
    revokeOne.reset();
    revokeOthers.reset();
  }

  function confirm() {
    if (confirming === null) return;
    if (confirming.kind === 'one') {
      const { session, device } = confirming;
      revokeOne.mutate(session.id, {
        onSuccess: () => {
          setStatus(`Signed out ${device}.`);
          close();
        },
      });
    } else {
      revokeOthers.mutate(undefined, {
        onSuccess: () => {
          setStatus('Signed out all other devices.');
          close();
        },
      });
    }
  }

  return (
    <section className="card" aria-labelledby="sessions-heading">
      <div className="section-header">
        <h2 id="sessions-heading">Where you are signed in</h2>
        {/* Secondary: the page is about seeing where you are signed in; the
            confirmation dialog is where the danger is spelled out. */}
        <button
          type="button"
          className="button button-secondary"
          disabled={others.length === 0}
          aria-describedby={others.length === 0 ? noOthersId : undefined}
          onClick={() => setConfirming({ kind: 'others' })}
        >
          Sign out all other devices
        </button>
      </div>
      <p className="status" role="status">
        {status}
      </p>
      {sessions.isRefetching && <p className="muted">Updating…</p>}
      <ul className="session-list">
        {sessions.data.map((session) => (
          <SessionItem
            key={session.id}
            session={session}
            device={labels.get(session.id) ?? ''}
            onSignOut={(device) => setConfirming({ kind: 'one', session, device })}
          />
        ))}
      </ul>
      {others.length === 0 && (
        <p className="muted" id={noOthersId}>
          You are not signed in anywhere else.
        </p>
      )}
      <ConfirmDialog
        open={confirming !== null}
        title={confirming?.kind === 'others' ? 'Sign out all other devices?' : 'Sign out this device?'}
        confirmLabel="Sign out"
        pendingLabel="Signing out…"
        pending={mutation.isPending}
        onConfirm={confirm}
        onCancel={close}
      >
        <p>
          {confirming?.kind === 'one'
            ? `${confirming.device} will be signed out at its next request.`
            : `Every session except this one will be signed out (${others.length} in all).`}
        </p>
        {mutation.isError && (
          <p className="inline-error" role="alert">
            {mutation.error.message}
          </p>
        )}
      </ConfirmDialog>
    </section>
  );
}

function SessionItem({
  session,
  device,
  onSignOut,
}: {
  session: SessionSummary;
  device: string;
  onSignOut: (device: string) => void;
}) {
  const headingId = useId();
  return (
    <li className="session-item" aria-labelledby={headingId}>
      <div className="session-main">
        <h3 id={headingId} className="session-device">
          {device} {session.current && <Badge tone="info">This device</Badge>}
        </h3>
        {/* The same three columns in every row, so they line up down the list. */}
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
      </div>
      {!session.current && (
        <button
          type="button"
          className="button button-secondary session-action"
          aria-describedby={headingId}
          onClick={() => onSignOut(device)}
        >
          Sign out
        </button>
      )}
    </li>
  );
}
