import { expect, test, users } from './fixtures';

// The zero-configuration server routes /api/demo to its demo API, which accepts only a
// valid access token. The e2e server's access tokens live 5 seconds (refreshed 2 seconds
// before they expire), so calls a few seconds apart need a token the server refreshed.
test('the dashboard shows the demo API greeting, and still does after the access token expires', async ({
  page,
  signIn,
}) => {
  await signIn(users.alice);
  const card = page.getByRole('region', { name: 'Demo API' });
  const greeting = card.getByText('Hello from the demo API, Alice');
  const expiry = card.locator('time');
  await expect(greeting).toBeVisible();
  const firstExpiry = (await expiry.getAttribute('datetime')) ?? '';

  // Keep calling, as a person would, until the demo API sees a refreshed token: one
  // that expires later. (The provider's refresh counter is shared by parallel tests.)
  const callAgain = card.getByRole('button', { name: 'Call again' });
  await expect
    .poll(
      async () => {
        await callAgain.click();
        await expect(callAgain).toBeEnabled();
        return expiry.getAttribute('datetime');
      },
      { timeout: 30_000, message: 'the demo API was called with a refreshed access token' },
    )
    .not.toBe(firstExpiry);

  // Once the first token has expired, a fresh page still gets its greeting.
  await expect.poll(() => Date.now(), { timeout: 10_000 }).toBeGreaterThan(Date.parse(firstExpiry));
  await page.reload();
  await expect(greeting).toBeVisible();
  await expect(expiry).not.toHaveAttribute('datetime', firstExpiry);
  await expect(page.getByRole('alert')).toHaveCount(0);
});
