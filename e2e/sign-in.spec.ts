import { completeHostedLogin, expect, test, users } from './fixtures';

test('sign in through the hosted page and see the profile', async ({ page, signIn }) => {
  await signIn(users.alice);

  const main = page.getByRole('main');
  await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
  await expect(main.getByRole('heading', { name: 'Alice Admin' })).toBeVisible();
  await expect(main.getByText('alice@acme.test')).toBeVisible();
  await expect(main.getByText('Verified', { exact: true })).toBeVisible();
  await expect(main.getByText('org_acme')).toBeVisible();
  await expect(main.getByRole('list', { name: 'Roles' })).toHaveText('admin');
  await expect(main.getByRole('list', { name: 'Permissions' })).toContainText('members:manage');
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sessions' })).toBeVisible();
});

test('an unverified email shows as not verified', async ({ page, signIn }) => {
  await signIn(users.carol);

  const main = page.getByRole('main');
  await expect(main.getByRole('heading', { name: 'Carol Unverified' })).toBeVisible();
  await expect(main.getByText('Not verified', { exact: true })).toBeVisible();
  await expect(main.getByText('org_globex')).toBeVisible();
});

test('deep link survives sign-in', async ({ page }) => {
  await page.goto('/sessions?from=bookmark');

  await completeHostedLogin(page, users.bob);

  await expect(page).toHaveURL('/sessions?from=bookmark');
  await expect(page.getByRole('heading', { level: 1, name: 'Sessions' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Where you are signed in' })).toBeVisible();
});

test('sign in with a company email carries it to the hosted page', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Work email or organization ID').fill('bob@acme.test');
  await page.getByRole('main').getByRole('button', { name: 'Continue', exact: true }).click();

  await expect(page.getByRole('heading', { name: 'Sign in to Scalekit (development)' })).toBeVisible();
  await expect(page.getByLabel('Email', { exact: true })).toHaveValue('bob@acme.test');
  await page.getByRole('button', { name: 'Continue', exact: true }).click();

  await expect(page).toHaveURL('/dashboard');
  await expect(page.getByRole('main').getByRole('heading', { name: 'Bob Member' })).toBeVisible();
});

test('sign in to a chosen organization by its id', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Work email or organization ID').fill('org_globex');
  await page.getByRole('main').getByRole('button', { name: 'Continue', exact: true }).click();

  // The organization is already chosen, so Alice skips the organization page.
  await completeHostedLogin(page, { ...users.alice, organization: undefined });

  await expect(page).toHaveURL('/dashboard');
  const main = page.getByRole('main');
  await expect(main.getByText('org_globex')).toBeVisible();
  await expect(main.getByRole('list', { name: 'Roles' })).toHaveText('member');
});

test('the company sign-in form explains a bad entry', async ({ page }) => {
  await page.goto('/');
  const field = page.getByLabel('Work email or organization ID');
  await field.fill('acme');
  await page.getByRole('main').getByRole('button', { name: 'Continue', exact: true }).click();

  await expect(page.getByRole('alert')).toContainText('Enter a work email');
  await expect(field).toHaveAttribute('aria-invalid', 'true');
  await expect(page).toHaveURL('/');
});
