import { expect, test, users } from './fixtures';

// The e2e server issues access tokens that live 5 seconds, so a session that
// stays open for a few seconds needs the server to refresh them. Two refreshes,
// so the second one spends the refresh token that the first one rotated in.
test('the session survives an access-token expiry without interruption', async ({ page, idp, signIn }) => {
  await signIn(users.bob);
  const before = await idp.refreshCount();

  // Keep using the app, as a person would, until the server has refreshed.
  await expect
    .poll(
      async () => {
        await page.getByRole('link', { name: 'Sessions' }).click();
        await expect(page.getByRole('heading', { name: 'Where you are signed in' })).toBeVisible();
        await page.getByRole('link', { name: 'Dashboard' }).click();
        await page.reload();
        await expect(page.getByRole('main').getByRole('heading', { name: 'Bob Member' })).toBeVisible();
        return idp.refreshCount();
      },
      { timeout: 40_000, message: 'the identity provider saw two refresh_token grants' },
    )
    .toBeGreaterThanOrEqual(before + 2);

  // Still signed in, with fresh data and no sign of trouble.
  await expect(page).toHaveURL('/dashboard');
  await page.reload();
  await expect(page.getByRole('main').getByRole('heading', { name: 'Bob Member' })).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
  const me = await page.request.get('/api/me');
  expect(me.status()).toBe(200);
});
