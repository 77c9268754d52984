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
  /** select_account opens Scalekit's organization picker; with organizationId it switches directly. */
  prompt?: 'login' | 'select_account';
}

export function loginUrl(params: LoginParams = {}): string {
  return authUrl('/auth/login', params);
}

export function signupUrl(params: LoginParams = {}): string {
  return authUrl('/auth/signup', params);
}

/** Signs in to another organization (or picks one), then comes back to returnTo. */
export function switchOrganizationUrl(returnTo: string, organizationId?: string): string {
  return loginUrl({ organizationId, prompt: 'select_account', returnTo });
}

function authUrl(path: string, { returnTo, loginHint, organizationId, prompt }: LoginParams): string {
  const query = new URLSearchParams();
  if (organizationId) query.set('organization_id', organizationId);
  if (prompt) query.set('prompt', prompt);
  if (returnTo) query.set('returnTo', returnTo);
  if (loginHint) query.set('login_hint', loginHint);
  const qs = query.toString();
  return qs ? `${path}?${qs}` : path;
}
