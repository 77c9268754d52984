import { expect, test } from './fixtures';

test('a cancelled sign-in lands on a friendly error page', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('link', { name: 'Sign in', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Sign in to Scalekit (development)' })).toBeVisible();
  await page.getByRole('button', { name: 'Cancel' }).click();

  await expect(page).toHaveURL('/login-error?error=access_denied');
  await expect(page.getByRole('heading', { level: 1, name: 'Sign-in was cancelled' })).toBeVisible();
  const tryAgain = page.getByRole('link', { name: 'Try again' });
  await expect(tryAgain).toHaveAttribute('href', /^\/auth\/login\?/);

  await tryAgain.click();
  await expect(page.getByRole('heading', { name: 'Sign in to Scalekit (development)' })).toBeVisible();
});

test('the error page never shows text from the address bar', async ({ page }) => {
  const payload = '<img src=x onerror=alert(1)>Call 555-0100 to restore your account';
  await page.goto(`/login-error?error=${encodeURIComponent(payload)}&error_description=${encodeURIComponent(payload)}`);

  await expect(page.getByRole('heading', { level: 1, name: 'Something went wrong' })).toBeVisible();
  await expect(page.getByRole('main')).toContainText('unknown');
  await expect(page.locator('body')).not.toContainText('555-0100');
  await expect(page.locator('img')).toHaveCount(0);
});

test('an unknown page says so', async ({ page }) => {
  await page.goto('/no/such/page');
  await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
  await page.getByRole('link', { name: 'Back to the home page' }).click();
  await expect(page).toHaveURL('/');
});
