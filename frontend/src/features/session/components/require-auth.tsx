import { useEffect, type ReactNode } from 'react';
import { useLocation } from 'react-router';
import { ErrorMessage } from '../../../components/error-message';
import { Loading } from '../../../components/loading';
import { currentPath, loginUrl } from '../../../lib/return-to';
import { useSession } from '../api';
import { useSessionEnded, wasSignedIn } from '../session-ended';

/**
 * Renders its children only for a signed-in visitor. A visitor who arrives
 * signed out goes to sign-in (a full-page navigation to the server) and comes
 * back here; a session that ends while the page is open hides the page and
 * leaves the "session ended" banner to explain.
 */
export function RequireAuth({ children }: { children: ReactNode }) {
  const session = useSession();
  const ended = useSessionEnded();
  const location = useLocation();
  const authenticated = session.data?.authenticated;

  // A tab that was signed in and no longer is has its session ended (see
  // session-ended.ts); only a first visit redirects.
  useEffect(() => {
    if (authenticated === false && !wasSignedIn()) {
      window.location.assign(loginUrl({ returnTo: currentPath(location) }));
    }
  }, [authenticated, location]);

  if (ended) return null;
  if (session.data === undefined) {
    if (session.isError) {
      return (
        <ErrorMessage
          title="We could not check your session"
          error={session.error}
          onRetry={() => void session.refetch()}
        />
      );
    }
    return <Loading label="Checking your session…" />;
  }
  if (!session.data.authenticated) return <Loading label="Taking you to sign in…" />;
  return children;
}
