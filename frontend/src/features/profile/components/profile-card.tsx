import { Badge } from '../../../components/badge';
import { ErrorMessage } from '../../../components/error-message';
import { Loading } from '../../../components/loading';
import { formatDateTime, formatDuration } from '../../../lib/format';
import { useMe, type Me } from '../api';

export function ProfileCard() {
  const me = useMe();
  if (me.isPending) return <Loading label="Loading your profile…" />;
  if (me.isError) {
    return (
      <ErrorMessage title="We could not load your profile" error={me.error} onRetry={() => void me.refetch()} />
    );
  }
  return <Profile me={me.data} />;
}

function Profile({ me }: { me: Me }) {
  const { user } = me;
  const displayName = user.name || [user.givenName, user.familyName].filter(Boolean).join(' ') || user.email;
  return (
    <>
      <section className="card" aria-labelledby="profile-heading">
        <div className="profile-header">
          <span className="avatar" aria-hidden="true">
            {initials(displayName)}
          </span>
          <div>
            <h2 id="profile-heading" className="profile-name">
              {displayName}
            </h2>
            <p className="profile-email">
              {user.email}{' '}
              {user.emailVerified ? (
                <Badge tone="success">Verified</Badge>
              ) : (
                <Badge tone="warning">Not verified</Badge>
              )}
            </p>
          </div>
        </div>
        <dl className="details">
          <div>
            <dt>Organization</dt>
            <dd>
              {me.organization ? (
                <>
                  {me.organization.name}
                  {me.organization.name !== me.organization.id && (
                    <>
                      {' '}
                      <code className="muted">{me.organization.id}</code>
                    </>
                  )}
                </>
              ) : (
                'None'
              )}
            </dd>
          </div>
          <div>
            <dt>User ID</dt>
            <dd>
              <code>{user.id}</code>
            </dd>
          </div>
          <div>
            <dt>Signed in</dt>
            <dd>{formatDateTime(me.session.createdAt)}</dd>
          </div>
          <div>
            <dt>Session ends</dt>
            <dd>
              by <time dateTime={me.session.absoluteExpiresAt}>{formatDateTime(me.session.absoluteExpiresAt)}</time>
              <span className="detail-hint">
                or sooner, after {formatDuration(me.session.idleTimeoutSeconds)} without activity
              </span>
            </dd>
          </div>
        </dl>
      </section>
      <section className="card" aria-labelledby="access-heading">
        <h2 id="access-heading">Access</h2>
        <TagList title="Roles" items={me.roles ?? []} empty="No roles in this organization." />
        <TagList title="Permissions" items={me.permissions ?? []} empty="No permissions." />
      </section>
    </>
  );
}

function TagList({ title, items, empty }: { title: string; items: string[]; empty: string }) {
  return (
    <>
      <h3>{title}</h3>
      {items.length === 0 ? (
        <p className="muted">{empty}</p>
      ) : (
        <ul className="tags" aria-label={title}>
          {items.map((item) => (
            <li key={item}>
              <code>{item}</code>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function initials(name: string): string {
  const parts = name.split(/[\s@.]+/).filter(Boolean);
  return parts
    .slice(0, 2)
    .map((part) => part[0]?.toUpperCase() ?? '')
    .join('');
}
