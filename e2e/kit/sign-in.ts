// Signs a test user in over HTTP, without a browser page, against an app that
// runs this BFF with its built-in identity provider. It follows the same three
// hops a browser makes (app /auth/login → the provider's hosted page, whose form
// it posts → app /auth/callback), checking each, and takes tens of milliseconds
// where driving the hosted page takes a second or more.
//
// The hosted page's form is the authorize request's own parameters plus what the
// person chose (docs/DESIGN.md, "The development identity provider"), so nothing
// is scraped from HTML. A real Scalekit environment has no such form: use this
// only against the built-in provider.
import { request as playwrightRequest, type APIRequestContext, type APIResponse } from '@playwright/test';

export interface KitUser {
  /**
   * A seeded user's email (alice@acme.test, bob@acme.test, carol@globex.test)
   * or any other address: the provider creates that user on first sign-in.
   */
  email: string;
  /**
   * The organization to sign in to, by id (org_acme, org_globex). A user who
   * belongs to several must be given one; a new user joins it (default org_acme).
   */
  organizationId?: string;
}

export interface SignInOptions {
  /** Where the app sends the user after sign-in (a path; default /dashboard). */
  returnTo?: string;
}

/** What Playwright's storageState option and browser.newContext({ storageState }) take. */
export type StorageState = Awaited<ReturnType<APIRequestContext['storageState']>>;

/**
 * Signs `user` in through `request`, whose baseURL is the app's origin, and
 * returns the resulting storage state (the app's session cookie). Pass a
 * browser context's own `context.request` and the cookie lands in that
 * context; pass a standalone context (see signedInState) to save it to a file.
 */
export async function signIn(request: APIRequestContext, user: KitUser, options: SignInOptions = {}): Promise<StorageState> {
  const params: Record<string, string> = { returnTo: options.returnTo ?? '/dashboard' };
  if (user.organizationId) params.organization_id = user.organizationId;

  // 1. The app starts a login: a pending-login cookie and a redirect to the provider.
  const login = await request.get('/auth/login', { params, maxRedirects: 0 });
  const authorize = new URL(redirectTarget(login, 'GET /auth/login'));

  // 2. The hosted page's form, posted as a person would submit it.
  const form: Record<string, string> = Object.fromEntries(authorize.searchParams);
  const chosen = await request.post(authorize.origin + authorize.pathname, {
    form: { ...form, action: 'email', email: user.email },
    maxRedirects: 0,
  });
  if (chosen.status() === 200 && (await chosen.text()).includes('Choose an organization')) {
    throw new Error(`kit sign-in: ${user.email} belongs to several organizations; set organizationId`);
  }
  const callback = redirectTarget(chosen, `POST ${authorize.pathname} (the hosted page's form)`);

  // 3. Back at the app: it exchanges the code, stores the session, sets the cookie.
  const done = await request.get(callback, { maxRedirects: 0 });
  const landing = new URL(redirectTarget(done, 'GET /auth/callback'));
  if (landing.pathname === '/login-error') {
    throw new Error(`kit sign-in: the app refused the sign-in of ${user.email}: ${landing.searchParams.get('error')}`);
  }
  return await request.storageState();
}

/**
 * Signs `user` in from a fresh request context of its own and returns the
 * storage state, for a globalSetup that saves it or for browser.newContext.
 */
export async function signedInState(baseURL: string, user: KitUser, options: SignInOptions = {}): Promise<StorageState> {
  const request = await playwrightRequest.newContext({ baseURL });
  try {
    return await signIn(request, user, options);
  } finally {
    await request.dispose();
  }
}

function redirectTarget(response: APIResponse, step: string): string {
  const location = response.headers()['location'];
  if (response.status() < 300 || response.status() > 399 || !location) {
    throw new Error(`kit sign-in: ${step} answered ${response.status()}, not a redirect (is the app running the built-in provider?)`);
  }
  return new URL(location, response.url()).toString();
}
