import type { Page, Response, Route } from '@playwright/test';
import { expect, test, users } from './fixtures';

const jwt = /eyJ[\w-]+\.[\w-]+\.[\w-]+/;

// The one place a token may appear (docs/DESIGN.md): the ID token as id_token_hint in
// the logout URL, which RP-initiated logout needs.
function withoutLogoutHint(text: string): string {
  return text.replace(/id_token_hint=[\w.%-]+/g, 'id_token_hint=ALLOWED');
}

async function expectNothingStoredInPage(page: Page): Promise<void> {
  const seen = await page.evaluate(async () => ({
    cookie: document.cookie,
    local: localStorage.length,
    session: sessionStorage.length,
    databases: (await indexedDB.databases()).length,
  }));
  expect(seen).toEqual({ cookie: '', local: 0, session: 0, databases: 0 });
}

test('no token anywhere the page can reach', async ({ page, context, baseURL, signIn }) => {
  const leaks: string[] = [];
  const check = (where: string, text: string) => {
    if (jwt.test(withoutLogoutHint(text))) leaks.push(where);
  };

  // Every API answer passes through here, so its body is read before the page
  // can navigate away (sign-out leaves at once).
  let apiBodies = 0;
  const readApi = async (route: Route) => {
    const response = await route.fetch({ maxRedirects: 0 });
    check(`body of ${route.request().method()} ${route.request().url()}`, await response.text());
    apiBodies++;
    await route.fulfill({ response });
  };
  await page.route('**/api/**', readApi);
  await page.route('**/auth/logout', readApi);

  // Everything else, the identity provider's pages included: URLs, headers, and
  // the bodies that are still there to read.
  const scans: Promise<void>[] = [];
  page.on('request', (request) => check(`request URL ${request.url()}`, request.url()));
  page.on('response', (response) => void scans.push(scan(response)));
  async function scan(response: Response): Promise<void> {
    const where = `${response.request().method()} ${response.url()}`;
    const headers = await response.allHeaders().catch(() => ({}));
    for (const [name, value] of Object.entries(headers)) check(`header ${name} of ${where}`, value);
    const status = response.status();
    if (status >= 300 && status < 400) return; // a redirect has no body
    check(`body of ${where}`, await response.text().catch(() => ''));
  }

  await signIn(users.alice);
  await expectNothingStoredInPage(page);
  await page.getByRole('link', { name: 'Sessions' }).click();
  await expect(page.getByRole('heading', { name: 'Where you are signed in' })).toBeVisible();
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Where you are signed in' })).toBeVisible();
  await expectNothingStoredInPage(page);

  // The session cookie is out of reach of scripts.
  const cookies = await context.cookies(baseURL);
  expect(cookies.length).toBeGreaterThan(0);
  for (const cookie of cookies) {
    expect(cookie, `cookie ${cookie.name}`).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
  }

  // Sign-out hands the browser the provider's logout URL: the one allowed token.
  const providerLogout = page.waitForRequest((r) => new URL(r.url()).pathname === '/oidc/logout');
  await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();
  const logoutUrl = new URL((await providerLogout).url());
  expect(logoutUrl.searchParams.get('id_token_hint')).toMatch(jwt);
  await expect(page).toHaveURL('/');
  await expectNothingStoredInPage(page);

  // The landing page's own API calls may still be in these handlers. Closing the
  // context at the end of a test first disposes its request context, which frees
  // every body route.fetch() holds, so a handler still between fetch and fulfill
  // would fail with "Fetch response has been disposed". Wait for them instead.
  await page.unrouteAll({ behavior: 'wait' });
  await Promise.all(scans);
  expect(apiBodies).toBeGreaterThan(5);
  expect(leaks).toEqual([]);
});
