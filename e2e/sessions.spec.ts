import { expect, freshUser, returnToTab, signIn, test, userIdOf } from './fixtures';

const iPhone =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1';

test('sign out another device, and that device notices', async ({ page, browser, idp }) => {
  const user = freshUser('revoke-one');
  const phoneContext = await browser.newContext({ userAgent: iPhone });
  const phone = await phoneContext.newPage();
  await signIn(phone, user);
  await signIn(page, user);

  await page.getByRole('link', { name: 'Sessions' }).click();
  const sessions = page.getByRole('listitem').filter({ has: page.getByRole('heading') });
  await expect(sessions).toHaveCount(2);
  const thisDevice = sessions.filter({ hasText: 'This device' });
  await expect(thisDevice).toHaveCount(1);
  await expect(thisDevice.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
  const other = sessions.filter({ hasText: 'Safari 17 on iOS 17' });
  await expect(other).toContainText('127.0.0.1');

  // Changing one's mind is safe: Escape closes the dialog and nothing happens.
  await other.getByRole('button', { name: 'Sign out' }).click();
  const dialog = page.getByRole('dialog', { name: 'Sign out this device?' });
  await expect(dialog).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(sessions).toHaveCount(2);

  await other.getByRole('button', { name: 'Sign out' }).click();
  await dialog.getByRole('button', { name: 'Sign out' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('status')).toHaveText('Signed out Safari 17 on iOS 17.');
  await expect(sessions).toHaveCount(1);
  await expect(sessions).toContainText('This device');

  // The phone learns at its next look at the page.
  await returnToTab(phone);
  const banner = phone.getByRole('alert');
  await expect(banner).toContainText('Your session has ended');
  await expect(banner.getByRole('link', { name: 'Sign in again' })).toHaveAttribute(
    'href',
    '/auth/login?returnTo=%2Fdashboard',
  );
  expect((await phone.request.get('/api/me')).status()).toBe(401);

  // This device is still signed in.
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Where you are signed in' })).toBeVisible();

  // The phone's session is revoked at the identity provider too, so the phone
  // cannot continue it; this device's is not.
  const userId = await userIdOf(page);
  await expect
    .poll(() => idp.sessionStatuses(userId), { message: "the provider's session statuses" })
    .toEqual(['active', 'revoked']);

  // The phone still holds the provider's cookie, but a silent sign-in finds
  // that provider session revoked: it lands where it asked to, signed out,
  // instead of signing straight back in without a password.
  await phone.goto('/auth/login?prompt=none&returnTo=/');
  await expect(phone).toHaveURL('/');
  await expect(phone.getByRole('link', { name: 'Sign in', exact: true })).toBeVisible();
  expect((await phone.request.get('/api/me')).status()).toBe(401);
  await phoneContext.close();
});

test('sign out all other devices', async ({ page, browser, idp }) => {
  const user = freshUser('revoke-all');
  const others = await Promise.all([browser.newContext(), browser.newContext({ userAgent: iPhone })]);
  for (const context of others) await signIn(await context.newPage(), user);
  await signIn(page, user);

  await page.goto('/sessions');
  const sessions = page.getByRole('listitem').filter({ has: page.getByRole('heading') });
  await expect(sessions).toHaveCount(3);

  await page.getByRole('button', { name: 'Sign out all other devices' }).click();
  const dialog = page.getByRole('dialog', { name: 'Sign out all other devices?' });
  await expect(dialog).toContainText('2 in all');
  await dialog.getByRole('button', { name: 'Sign out' }).click();

  await expect(page.getByRole('status')).toHaveText('Signed out all other devices.');
  await expect(sessions).toHaveCount(1);
  await expect(sessions).toContainText('This device');
  await expect(page.getByRole('button', { name: 'Sign out all other devices' })).toBeDisabled();
  await expect(page.getByText('You are not signed in anywhere else.')).toBeVisible();

  for (const context of others) {
    expect((await context.request.get('/api/me')).status()).toBe(401);
    await context.close();
  }
  expect((await page.request.get('/api/me')).status()).toBe(200);

  // Each of the others is revoked at the identity provider, this one is not.
  const userId = await userIdOf(page);
  await expect
    .poll(() => idp.sessionStatuses(userId), { message: "the provider's session statuses" })
    .toEqual(['active', 'revoked', 'revoked']);
});
