import { expect, freshUser, idpURL, seriousA11yViolations, test, users } from './fixtures';
import type { Page } from '@playwright/test';

// The flows Scalekit starts (a sign-in from an organization's identity
// provider, an invitation) and switching organization, through the built-in
// provider's simulations.

function organizationButton(page: Page, name: string) {
  return page.getByRole('banner').getByRole('button', { name: `Organization: ${name}` });
}

test('a sign-in from the identity provider lands on relay_state, in that organization', async ({ page }) => {
  const start = new URL(`${idpURL}/dev/idp-initiated-login`);
  start.search = new URLSearchParams({
    organization_id: 'org_globex',
    login_hint: users.alice.email,
    relay_state: '/sessions?from=okta',
  }).toString();
  await page.goto(start.toString());

  await expect(page).toHaveURL('/sessions?from=okta');
  await expect(page.getByRole('heading', { name: 'Where you are signed in' })).toBeVisible();
  await expect(organizationButton(page, 'Globex Corp')).toBeVisible();
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await expect(page.getByRole('main').getByRole('list', { name: 'Roles' })).toHaveText('member');
});

test("the hosted page's identity-provider link signs in without a password", async ({ page }) => {
  await page.goto('/');
  await page.getByRole('link', { name: 'Sign in', exact: true }).click();
  await page.getByRole('link', { name: "Simulate sign-in from your company's identity provider" }).click();
  await page.getByRole('link', { name: 'Bob Member (bob@acme.test) at Acme Inc, through Okta' }).click();

  await expect(page).toHaveURL('/');
  await expect(page.getByText('You are signed in as Bob Member.')).toBeVisible();
  await expect(organizationButton(page, 'Acme Inc')).toBeVisible();
});

test('switching organization in the header changes the name and the roles', async ({ page, signIn }) => {
  await signIn(users.alice);
  const main = page.getByRole('main');
  await expect(organizationButton(page, 'Acme Inc')).toBeVisible();
  await expect(main.getByRole('list', { name: 'Roles' })).toHaveText('admin');

  await organizationButton(page, 'Acme Inc').click();
  await page.getByRole('banner').getByRole('link', { name: 'Globex Corp' }).click();

  await expect(page).toHaveURL('/dashboard');
  await expect(organizationButton(page, 'Globex Corp')).toBeVisible();
  await expect(main.getByRole('list', { name: 'Roles' })).toHaveText('member');
  await expect(main.getByText('Globex Corp')).toBeVisible();

  await organizationButton(page, 'Globex Corp').click();
  await page.getByRole('banner').getByRole('link', { name: 'Acme Inc' }).click();
  await expect(organizationButton(page, 'Acme Inc')).toBeVisible();
  await expect(main.getByRole('list', { name: 'Roles' })).toHaveText('admin');
});

test('with one known organization the switcher opens the picker and comes back', async ({ page, signIn }) => {
  await signIn(users.bob);
  await page.getByRole('link', { name: 'Sessions' }).click();
  await expect(page.getByRole('heading', { name: 'Where you are signed in' })).toBeVisible();

  const button = organizationButton(page, 'Acme Inc');
  await button.click();
  await expect(button).toHaveAttribute('aria-expanded', 'true');
  await page.keyboard.press('Escape');
  await expect(button).toHaveAttribute('aria-expanded', 'false');
  await expect(button).toBeFocused();

  await button.click();
  await page.getByRole('link', { name: 'Switch organization' }).click();
  await expect(page.getByRole('heading', { name: 'Choose an organization' })).toBeVisible();
  await page.getByRole('button', { name: 'Acme Inc' }).click();
  await expect(page).toHaveURL('/sessions');
  await expect(organizationButton(page, 'Acme Inc')).toBeVisible();
});

test('an organization the person does not belong to gets its own message', async ({ page, signIn }) => {
  await signIn(users.bob);
  await page.goto('/auth/login?organization_id=org_globex&prompt=select_account&returnTo=/dashboard');

  await expect(page).toHaveURL('/login-error?error=not_a_member');
  await expect(page.getByRole('heading', { name: 'You are not a member of that organization' })).toBeVisible();
  await page.getByRole('link', { name: 'Back to the home page' }).click();
  await expect(page.getByText('You are signed in as Bob Member.')).toBeVisible();
});

test('a sign-in link that cannot be used gets its own message', async ({ page }) => {
  await page.goto('/auth/login?idp_initiated_login=not-a-token');
  await expect(page).toHaveURL('/login-error?error=invalid_idp_initiated_login');
  await expect(page.getByRole('heading', { level: 1, name: 'We could not verify that sign-in' })).toBeVisible();

  await page.goto('/auth/login?ui_locales=fr&ui_locales=de');
  await expect(page).toHaveURL('/login-error?error=bad_request');
  await expect(page.getByRole('heading', { level: 1, name: 'That sign-in link is not valid' })).toBeVisible();
  expect(await seriousA11yViolations(page), '/login-error?error=bad_request').toEqual([]);
});

test('an invitation ends signed in to the organization', async ({ page }) => {
  const invitee = freshUser('invited');
  const invite = new URL(`${idpURL}/dev/invite`);
  invite.search = new URLSearchParams({ email: invitee.email, organization_id: 'org_globex' }).toString();
  await page.goto(invite.toString());

  await expect(page.getByRole('heading', { name: 'Join Globex Corp' })).toBeVisible();
  await expect(page.getByText(`You were invited to join Globex Corp as ${invitee.email}.`)).toBeVisible();
  await page.getByRole('button', { name: 'Accept invitation' }).click();

  await expect(page).toHaveURL('/');
  await page.getByRole('link', { name: 'Go to your dashboard' }).click();
  const main = page.getByRole('main');
  await expect(main.getByText(invitee.email)).toBeVisible();
  await expect(main.getByText('Verified', { exact: true })).toBeVisible();
  await expect(organizationButton(page, 'Globex Corp')).toBeVisible();
});

test('a silent sign-in signs in when the provider knows the browser, else stays signed out', async ({
  page,
  browser,
  signIn,
}) => {
  const stranger = await browser.newContext();
  const strangerPage = await stranger.newPage();
  await strangerPage.goto('/auth/login?prompt=none&returnTo=/');
  await expect(strangerPage).toHaveURL('/');
  await expect(strangerPage.getByRole('link', { name: 'Sign in', exact: true })).toBeVisible();
  await stranger.close();

  await signIn(users.carol);
  // This app's session is gone (another device, an expiry); the provider's is not.
  await page.context().clearCookies({ domain: 'localhost' });
  await page.goto('/auth/login?prompt=none&returnTo=/sessions');
  await expect(page).toHaveURL('/sessions');
  await expect(page.getByRole('heading', { name: 'Where you are signed in' })).toBeVisible();
});

test.describe('on a 390×844 phone', () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test('the header stays on one row and the switcher works', async ({ page, signIn }) => {
    await signIn(users.alice);
    const banner = page.getByRole('banner');
    const controls = [
      banner.getByRole('link', { name: 'Scalekit BFF' }),
      banner.getByRole('link', { name: 'Dashboard' }),
      banner.getByRole('link', { name: 'Sessions' }),
      organizationButton(page, 'Acme Inc'),
      banner.getByRole('button', { name: 'Sign out' }),
    ];
    const boxes = [];
    for (const control of controls) {
      await expect(control).toBeVisible();
      const box = await control.boundingBox();
      expect(box, `${control}`).not.toBeNull();
      boxes.push(box!);
    }
    const middles = boxes.map((b) => b.y + b.height / 2);
    expect(Math.max(...middles) - Math.min(...middles), 'vertical spread of the header controls').toBeLessThan(8);
    let previousRight = 0;
    for (const [i, box] of boxes.entries()) {
      expect(box.x, `control ${i} starts after the one before it ends`).toBeGreaterThanOrEqual(previousRight);
      previousRight = box.x + box.width;
    }
    expect(previousRight, 'the last control ends on screen').toBeLessThanOrEqual(390);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    await organizationButton(page, 'Acme Inc').click();
    const switchTo = banner.getByRole('link', { name: 'Globex Corp' });
    await expect(switchTo).toBeVisible();
    expect(await seriousA11yViolations(page), 'the open organization menu').toEqual([]);
    await switchTo.click();
    await expect(organizationButton(page, 'Globex Corp')).toBeVisible();
  });
});
