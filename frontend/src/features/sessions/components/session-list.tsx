import { useId, useState } from 'react';
import { ErrorMessage } from '../../../components/error-message';
import { Loading } from '../../../components/loading';
import { useSessions } from '../api';
import { deviceLabels } from '../device-labels';
import { RevokeDialog, type RevokeTarget } from './revoke-dialog';
import { SessionItem } from './session-item';

/** Where the person is signed in, with a way to sign each other device out. */
export function SessionList() {
  const sessions = useSessions();
  const [target, setTarget] = useState<RevokeTarget | null>(null);
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
          onClick={() => setTarget({ kind: 'others' })}
        >
          Sign out all other devices
        </button>
      </div>
      <p className="status" role="status">
        {status}
      </p>
      {sessions.isRefetching && <p className="muted">Updating…</p>}
      <ul className="session-list">
        {sessions.data.map((session) => {
          const device = labels.get(session.id) ?? '';
          return (
            <SessionItem
              key={session.id}
              session={session}
              device={device}
              onSignOut={() => setTarget({ kind: 'one', id: session.id, device })}
            />
          );
        })}
      </ul>
      {others.length === 0 && (
        <p className="muted" id={noOthersId}>
          You are not signed in anywhere else.
        </p>
      )}
      <RevokeDialog
        target={target}
        othersCount={others.length}
        onDone={(done) => {
          setStatus(done);
          setTarget(null);
        }}
        onCancel={() => setTarget(null)}
      />
    </section>
  );
}
