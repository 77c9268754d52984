// Links that start a login. They are full-page navigations to the server, never
// client-side routes: the server owns the whole OAuth dance.

/**
 * The current path and query, for the server to send the browser back to after sign-in.
 * A path that starts with "//" or holds a backslash (a crafted link can put the app
 * there: /.//evil.example resolves to //evil.example) would name another host once
 * used as a link, so it becomes "/". The server checks returnTo again.
 */
export function currentPath(location: { pathname: string; search: string } = window.location): string {
  const { pathname, search } = location;
  if (!pathname.startsWith('/') || pathname.startsWith('//') || pathname.includes('\\')) return '/';
  return pathname + search;
}

export interface LoginParams {
  returnTo?: string;
  loginHint?: string;
  organizationId?: string;
}

export function loginUrl(params: LoginParams = {}): string {
  return authUrl('/auth/login', params);
}

export function signupUrl(params: LoginParams = {}): string {
  return authUrl('/auth/signup', params);
}

function authUrl(path: string, { returnTo, loginHint, organizationId }: LoginParams): string {
  const query = new URLSearchParams();
  if (returnTo) query.set('returnTo', returnTo);
  if (loginHint) query.set('login_hint', loginHint);
  if (organizationId) query.set('organization_id', organizationId);
  const qs = query.toString();
  return qs ? `${path}?${qs}` : path;
}
