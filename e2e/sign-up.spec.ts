import { expect, freshUser, test } from './fixtures';

test('create an account and land on the dashboard', async ({ page }) => {
  const { email } = freshUser('signup');

  await page.goto('/');
  await page.getByRole('link', { name: 'Create account' }).click();

  await expect(page.getByRole('heading', { name: 'Create your account' })).toBeVisible();
  await page.getByLabel('Name', { exact: true }).fill('Dana Developer');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Create account' }).click();

  await expect(page).toHaveURL('/dashboard');
  const main = page.getByRole('main');
  await expect(main.getByRole('heading', { name: 'Dana Developer' })).toBeVisible();
  await expect(main.getByText(email)).toBeVisible();
  await expect(main.getByText('org_acme')).toBeVisible();
});
