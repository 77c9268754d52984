import { Link } from 'react-router';
import { useSession } from '../../features/session/api';
import { CompanySignInForm } from '../../features/session/components/company-sign-in-form';
import { loginUrl, signupUrl } from '../../lib/return-to';

const afterSignIn = '/dashboard';

export function LandingRoute() {
  const session = useSession();
  const user = session.data?.authenticated ? session.data.user : undefined;

  return (
    <>
      <title>Scalekit BFF</title>
      <section className="hero" aria-labelledby="landing-heading">
        <h1 id="landing-heading">Your workspace, signed in safely</h1>
        <p className="lead">
          Sign-in runs on the server: your browser keeps only a session cookie that scripts cannot read.
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
              Sign in
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
