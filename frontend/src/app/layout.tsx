import { useEffect, useRef } from 'react';
import { Link, NavLink, Outlet, useLocation } from 'react-router';
import { OrganizationSwitcher } from '../features/profile/components/organization-switcher';
import { useSession } from '../features/session/api';
import { SessionEndedBanner } from '../features/session/components/session-ended-banner';
import { SignOutButton } from '../features/session/components/sign-out-button';
import { useSessionEnded } from '../features/session/session-ended';

export function Layout() {
  const session = useSession();
  const ended = useSessionEnded();
  const signedIn = session.data?.authenticated === true && ended === null;
  const mainRef = useMainFocusOnNavigation();

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <div className="container header-inner">
          <Link to="/" className="brand">
            {/* On a phone the short mark keeps the header on one row; the name stays the link's name. */}
            <span className="brand-mark" aria-hidden="true">
              SB
            </span>
            <span className="brand-name">Scalekit BFF</span>
          </Link>
          {signedIn && (
            <>
              <nav aria-label="Main">
                <ul className="nav-list">
                  <li>
                    <NavLink to="/dashboard">Dashboard</NavLink>
                  </li>
                  <li>
                    <NavLink to="/sessions">Sessions</NavLink>
                  </li>
                </ul>
              </nav>
              <div className="header-actions">
                <OrganizationSwitcher />
                <SignOutButton />
              </div>
            </>
          )}
        </div>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1} className="container main">
        <SessionEndedBanner />
        <Outlet />
      </main>
      <footer className="site-footer">
        <div className="container">
          <p>Trouble signing in? Your organization&rsquo;s administrator can help.</p>
        </div>
      </footer>
    </>
  );
}

// After a client-side navigation, move focus to the new page's content so
// keyboard and screen-reader users start there (a full page load does this itself).
function useMainFocusOnNavigation() {
  const ref = useRef<HTMLElement>(null);
  const { pathname } = useLocation();
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    ref.current?.focus();
  }, [pathname]);
  return ref;
}
