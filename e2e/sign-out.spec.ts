import { expect, test, users } from './fixtures';

test('sign out ends the server session', async ({ page, context, playwright, baseURL, signIn }) => {
  await signIn(users.bob);
  const cookies = await context.cookies(baseURL);
  expect(cookies.length).toBeGreaterThan(0);

  const logout = page.waitForResponse((r) => new URL(r.url()).pathname === '/auth/logout');
  await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();
  expect((await logout).status()).toBe(200);

  // Through the provider's logout and back to the landing page, signed out.
  await expect(page).toHaveURL('/');
  await expect(page.getByRole('status')).toHaveText(/You have signed out/);
  await expect(page.getByRole('link', { name: 'Sign in again' })).toBeVisible();

  // The old cookie, replayed by someone who copied it, is refused.
  const replay = await playwright.request.newContext({
    baseURL,
    extraHTTPHeaders: { Cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; ') },
  });
  const me = await replay.get('/api/me');
  expect(me.status()).toBe(401);
  expect(await me.json()).toMatchObject({ error: 'unauthenticated' });
  expect(await (await replay.get('/api/session')).json()).toEqual({ authenticated: false });
  await replay.dispose();
});

test('sign-out in one tab shows in the other tabs at once', async ({ page, context, signIn }) => {
  await signIn(users.bob);
  const other = await context.newPage();
  await other.goto('/sessions');
  await expect(other.getByRole('heading', { name: 'Where you are signed in' })).toBeVisible();

  await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();

  const banner = other.getByRole('alert');
  await expect(banner).toContainText('Your session has ended');
  await expect(banner).toContainText('You signed out in another tab');
  await expect(banner.getByRole('link', { name: 'Sign in again' })).toHaveAttribute(
    'href',
    '/auth/login?returnTo=%2Fsessions',
  );
  // The signed-out tab no longer shows the user's data.
  await expect(other.getByRole('heading', { name: 'Where you are signed in' })).toBeHidden();
  await expect(other.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
});
