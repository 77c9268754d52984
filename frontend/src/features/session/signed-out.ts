// How the landing page knows the visitor just signed out. Sign-out is a
// top-level trip through the provider's logout page and back to `/`, so this
// page cannot tell it from a first visit by itself. The SPA puts a fragment
// on the logout URL: servers never see fragments, and a browser that follows
// a redirect whose Location has none carries the request's fragment over
// (RFC 9110, section 10.2.2), so `/#signed-out` is where the trip ends. No
// registration changes at the provider, and nothing is stored in the browser.
export const signedOutFragment = '#signed-out';

/** The logout URL with the fragment that marks the return trip. */
export function markSignedOut(logoutUrl: string): string {
  const hash = logoutUrl.indexOf('#');
  return (hash === -1 ? logoutUrl : logoutUrl.slice(0, hash)) + signedOutFragment;
}
