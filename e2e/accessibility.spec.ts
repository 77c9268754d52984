import { expect, freshUser, seriousA11yViolations, signIn, test, users } from './fixtures';

test('public pages pass an axe scan', async ({ page }) => {
  for (const path of ['/', '/login-error?error=access_denied', '/no/such/page']) {
    await page.goto(path);
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
    expect(await seriousA11yViolations(page), path).toEqual([]);
  }
});

test('signed-in pages and the confirmation dialog pass an axe scan', async ({ page, browser }) => {
  const user = freshUser('a11y');
  const otherContext = await browser.newContext();
  await signIn(await otherContext.newPage(), user);
  await signIn(page, user);
  expect(await seriousA11yViolations(page), '/dashboard').toEqual([]);

  await page.getByRole('link', { name: 'Sessions' }).click();
  await expect(page.getByRole('heading', { name: 'Where you are signed in' })).toBeVisible();
  expect(await seriousA11yViolations(page), '/sessions').toEqual([]);

  await page.getByRole('button', { name: 'Sign out all other devices' }).click();
  await expect(page.getByRole('dialog')).toBeVisible();
  expect(await seriousA11yViolations(page), 'the dialog').toEqual([]);
  await otherContext.close();
});

test('the session-ended banner passes an axe scan', async ({ page, context, signIn: signInHere }) => {
  await signInHere(users.carol);
  const other = await context.newPage();
  await other.goto('/dashboard');
  await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();
  await expect(other.getByRole('alert')).toContainText('Your session has ended');
  expect(await seriousA11yViolations(other), 'session ended').toEqual([]);
});

test.describe('on a phone-sized screen', () => {
  test.use({ viewport: { width: 375, height: 740 } });

  test('pages fit without sideways scrolling', async ({ page, signIn: signInHere }) => {
    await page.goto('/');
    await expect(page.getByRole('link', { name: 'Sign in', exact: true })).toBeVisible();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);

    await signInHere(users.alice);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.getByRole('link', { name: 'Sessions' }).click();
    await expect(page.getByRole('heading', { name: 'Where you are signed in' })).toBeVisible();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    expect(await seriousA11yViolations(page), '/sessions at 375px').toEqual([]);
  });
});
