import { useEffect, useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { useSession } from '../../features/session/api';
import { CompanySignInForm } from '../../features/session/components/company-sign-in-form';
import { signedOutFragment } from '../../features/session/signed-out';
import { loginUrl, signupUrl } from '../../lib/return-to';

const afterSignIn = '/dashboard';

export function LandingRoute() {
  const session = useSession();
  const user = session.data?.authenticated ? session.data.user : undefined;
  const signedOut = useJustSignedOut();

  return (
    <>
      <title>Scalekit BFF</title>
      {signedOut && !session.data?.authenticated && (
        <p className="notice notice-success" role="status">
          You have signed out. See you next time.
        </p>
      )}
      <section className="hero" aria-labelledby="landing-heading">
        <h1 id="landing-heading">Your workspace, one sign-in away</h1>
        <p className="lead">
          See your profile and your organization, and check which devices are signed in to your account.
        </p>
        {session.data?.authenticated ? (
          <div className="actions">
            <p>
              You are signed in{user ? ` as ${user.name || user.email}` : ''}.
            </p>
            <Link className="button button-primary" to="/dashboard">
              Go to your dashboard
            </Link>
          </div>
        ) : (
          <div className="actions">
            {/* Plain links: sign-in is a full-page trip through the server, not a client route. */}
            <a className="button button-primary" href={loginUrl({ returnTo: afterSignIn })}>
              {signedOut ? 'Sign in again' : 'Sign in'}
            </a>
            <a className="button button-secondary" href={signupUrl({ returnTo: afterSignIn })}>
              Create account
            </a>
          </div>
        )}
      </section>
      {!session.data?.authenticated && (
        <section className="card">
          <CompanySignInForm returnTo={afterSignIn} />
        </section>
      )}
    </>
  );
}

/** True when this page load ends a sign-out (see signed-out.ts); the fragment is then removed from the address. */
function useJustSignedOut(): boolean {
  const location = useLocation();
  const navigate = useNavigate();
  const [signedOut] = useState(() => location.hash === signedOutFragment);
  useEffect(() => {
    if (location.hash === signedOutFragment) {
      void navigate({ pathname: location.pathname, search: location.search }, { replace: true });
    }
  }, [location, navigate]);
  return signedOut;
}
