import { useLocation } from 'react-router';
import { currentPath, loginUrl } from '../../../lib/return-to';
import { useSessionEnded } from '../session-ended';

/** Shown when this tab's session ended: a 401 mid-session, or a sign-out in another tab. */
export function SessionEndedBanner() {
  const reason = useSessionEnded();
  const location = useLocation();
  if (reason === null) return null;
  return (
    <div className="banner" role="alert">
      <p>
        <strong>Your session has ended.</strong>{' '}
        {reason === 'signed-out'
          ? 'You signed out in another tab.'
          : 'You were signed out, or your session expired.'}
      </p>
      <a className="button button-primary" href={loginUrl({ returnTo: currentPath(location) })}>
        Sign in again
      </a>
    </div>
  );
}
