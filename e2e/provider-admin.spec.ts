import { expect, freshUser, idpURL, returnToTab, signIn, test, type TestUser } from './fixtures';
import type { Page } from '@playwright/test';

// What an administrator does at the identity provider reaches the app as
// Scalekit's webhooks: the built-in provider's admin page sends them.

/** Opens the provider's admin page in a tab of its own. */
async function adminPage(page: Page): Promise<Page> {
  const admin = await page.context().newPage();
  await admin.goto(`${idpURL}/dev/admin`);
  await expect(admin.getByRole('heading', { name: 'Development identity provider: admin' })).toBeVisible();
  return admin;
}

/** The admin page's section about one user. */
function userSection(admin: Page, user: TestUser) {
  return admin.getByRole('region', { name: `(${user.email})` });
}

test('an administrator ends my session: the app says it has ended', async ({ page, idp }) => {
  const user = freshUser('admin-end');
  await signIn(page, user);
  const delivered = await idp.webhooksDelivered('user.logout');

  const admin = await adminPage(page);
  const session = admin.getByRole('listitem').filter({ hasText: user.email });
  await expect(session).toHaveCount(1);
  await session.getByRole('button', { name: 'End session' }).click();
  await expect(admin.getByRole('status')).toHaveText('The session has ended.');
  await expect(admin.getByRole('listitem').filter({ hasText: user.email })).toHaveCount(0);
  await expect.poll(() => idp.webhooksDelivered('user.logout')).toBeGreaterThan(delivered);

  await page.bringToFront();
  await returnToTab(page);
  await expect(page.getByRole('alert')).toContainText('Your session has ended');
});

test('an administrator removes me from the organization: the app says my session has ended', async ({ page, idp }) => {
  const user = freshUser('admin-remove');
  await signIn(page, user);
  const delivered = await idp.webhooksDelivered('user.organization_membership_deleted');

  const admin = await adminPage(page);
  await userSection(admin, user).getByRole('button', { name: 'Remove from Acme Inc' }).click();
  await expect(admin.getByRole('status')).toHaveText('The membership was removed.');
  await expect(userSection(admin, user)).toContainText('No memberships.');
  await expect.poll(() => idp.webhooksDelivered('user.organization_membership_deleted')).toBeGreaterThan(delivered);

  await page.bringToFront();
  await returnToTab(page);
  await expect(page.getByRole('alert')).toContainText('Your session has ended');
});

test('an administrator makes me an admin: the dashboard shows it after a reload, without signing in', async ({
  page,
  idp,
}) => {
  const user = freshUser('admin-role');
  await signIn(page, user);
  const roles = page.getByRole('list', { name: 'Roles' });
  await expect(roles.getByRole('listitem')).toHaveText(['member']);
  const delivered = await idp.webhooksDelivered('user.organization_membership_updated');
  const visited: string[] = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) visited.push(frame.url());
  });

  const admin = await adminPage(page);
  const section = userSection(admin, user);
  await section.getByLabel('Role in Acme Inc').selectOption('admin');
  await section.getByRole('button', { name: 'Change role in Acme Inc' }).click();
  await expect(admin.getByRole('status')).toHaveText('The role was changed.');
  await expect(userSection(admin, user).getByLabel('Role in Acme Inc')).toHaveValue('admin');
  await expect.poll(() => idp.webhooksDelivered('user.organization_membership_updated')).toBeGreaterThan(delivered);

  await page.bringToFront();
  await page.reload();
  await expect(roles.getByRole('listitem')).toHaveText(['admin']);
  await expect(page).toHaveURL('/dashboard');
  expect(visited.filter((url) => url.startsWith(idpURL)), 'pages of the identity provider visited').toEqual([]);
  await expect(page.getByRole('alert')).toHaveCount(0);
});
