// What a newcomer saw wrong in screenshots (issue 16, defects 2 to 8), checked
// at a laptop's and a phone's size. Each test saves its screenshots under
// test-results/ (artefacts of the run, never committed) and asserts what would
// catch the defect's return.
import type { Page, TestInfo } from '@playwright/test';
import { signIn as kitSignIn } from './kit/sign-in';
import { expect, freshUser, test, users } from './fixtures';

const sizes = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
];

async function screenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

async function fitsWidth(page: Page): Promise<void> {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth, 'no sideways scrolling').toBeLessThanOrEqual(innerWidth);
}

const css = (page: Page, selector: string, property: string) =>
  page.locator(selector).first().evaluate((el, p) => getComputedStyle(el).getPropertyValue(p), property);

for (const size of sizes) {
  test.describe(`at ${size.width}×${size.height}`, () => {
    test.use({ viewport: size });

    test('the session shows its absolute end and the idle rule in words', async ({ page, signInAs }, testInfo) => {
      await signInAs(freshUser('ux-end'));
      const me = (await (await page.request.get('/api/me')).json()) as {
        session: { createdAt: string; absoluteExpiresAt: string; idleTimeoutSeconds: number };
      };
      // The e2e server runs with the default lifetime and idle timeout (24h, 30m).
      const lifetime = Date.parse(me.session.absoluteExpiresAt) - Date.parse(me.session.createdAt);
      expect(Math.abs(lifetime - 24 * 3600_000), 'absoluteExpiresAt is sign-in + 24h').toBeLessThan(5_000);
      expect(me.session.idleTimeoutSeconds).toBe(30 * 60);

      await page.goto('/dashboard');
      const ends = page.getByRole('definition').filter({ hasText: 'without activity' });
      await expect(page.getByRole('term').filter({ hasText: 'Session ends' })).toBeVisible();
      await expect(ends.locator('time')).toHaveAttribute('datetime', me.session.absoluteExpiresAt);
      await expect(ends).toContainText('or sooner, after 30 minutes without activity');
      await screenshot(page, testInfo, 'dashboard');

      await page.goto('/sessions');
      const thisSession = page.getByRole('region', { name: 'This session' });
      await expect(thisSession.locator('time')).toHaveAttribute('datetime', me.session.absoluteExpiresAt);
      await expect(thisSession).toContainText('at the latest. After 30 minutes without activity you are signed out sooner.');
      await fitsWidth(page);
      await screenshot(page, testInfo, 'sessions-this-session');
    });

    test('the sessions list tells devices apart, in aligned columns, with a quiet sign-out-all', async ({
      page,
      browser,
      signInAs,
    }, testInfo) => {
      const user = freshUser('ux-devices');
      // Two more sessions from the same browser build: identical user agents.
      const others = await Promise.all([browser.newContext(), browser.newContext()]);
      for (const context of others) await kitSignIn(context.request, user);
      await signInAs(user);
      await page.goto('/sessions');

      const rows = page.getByRole('listitem').filter({ has: page.getByRole('heading') });
      await expect(rows).toHaveCount(3);
      const names = await rows.getByRole('heading').allInnerTexts();
      expect(new Set(names).size, `device names ${JSON.stringify(names)}`).toBe(3);
      await expect(rows.filter({ hasText: 'This device' })).toHaveCount(1);

      // Every row has the same details, and each detail starts at the same x.
      for (const term of ['Signed in', 'Last active', 'IP address']) {
        const xs = await rows.getByRole('term').filter({ hasText: term }).evaluateAll((els) =>
          els.map((el) => Math.round(el.getBoundingClientRect().left)),
        );
        expect(xs, `"${term}" in every row`).toHaveLength(3);
        expect(new Set(xs).size, `"${term}" at x ${xs.join(', ')}`).toBe(1);
      }

      const signOutAll = page.getByRole('button', { name: 'Sign out all other devices' });
      await expect(signOutAll).toHaveClass(/button-secondary/);
      expect(await signOutAll.evaluate((el) => getComputedStyle(el).backgroundColor)).not.toBe('rgb(185, 28, 28)');
      await fitsWidth(page);
      await screenshot(page, testInfo, 'sessions-three-devices');

      await signOutAll.click();
      await page.getByRole('dialog').getByRole('button', { name: 'Sign out' }).click();
      await expect(rows).toHaveCount(1);
      await expect(signOutAll).toBeDisabled();
      await expect(signOutAll).toHaveAccessibleDescription('You are not signed in anywhere else.');
      expect(Number(await signOutAll.evaluate((el) => getComputedStyle(el).opacity))).toBeLessThan(1);
      await screenshot(page, testInfo, 'sessions-nothing-to-sign-out');
      for (const context of others) await context.close();
    });

    test('after signing out, the landing page says so', async ({ page, signInAs }, testInfo) => {
      await signInAs(users.bob);
      await page.goto('/dashboard');
      await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();

      await expect(page.getByRole('status')).toHaveText(/You have signed out/);
      await expect(page.getByRole('link', { name: 'Sign in again' })).toBeVisible();
      await expect(page).toHaveURL('/'); // the marker fragment is gone from the address
      await fitsWidth(page);
      await screenshot(page, testInfo, 'signed-out');

      // A later visit is a plain visit.
      await page.reload();
      await expect(page.getByRole('link', { name: 'Sign in', exact: true })).toBeVisible();
      await expect(page.getByText('You have signed out')).toHaveCount(0);
    });

    test('when the session ends, only the banner remains', async ({ page, context, signInAs }, testInfo) => {
      await signInAs(freshUser('ux-ended'));
      await page.goto('/dashboard');
      await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
      const other = await context.newPage();
      await other.goto('/sessions');
      // Open, and signed in, before the session ends: a tab that never saw its
      // visitor signed in goes to sign-in instead.
      await expect(other.getByRole('heading', { name: 'Where you are signed in' })).toBeVisible();
      await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();

      await expect(other.getByRole('alert')).toContainText('Your session has ended');
      await expect(other.getByRole('main').getByRole('heading')).toHaveCount(0);
      await screenshot(other, testInfo, 'session-ended');
    });

    test("the provider's pages look like the app", async ({ page }, testInfo) => {
      await page.goto('/auth/login?returnTo=%2Fdashboard');
      const heading = page.getByRole('heading', { level: 1, name: 'Sign in to Scalekit (development)' });
      await expect(heading).toBeVisible();

      // The heading fits on one line.
      const { height, lineHeight } = await heading.evaluate((el) => ({
        height: el.getBoundingClientRect().height,
        lineHeight: parseFloat(getComputedStyle(el).lineHeight),
      }));
      expect(height, 'heading height against one line').toBeLessThan(lineHeight * 1.5);
      // The app's colours: its primary button, its links.
      const primary = page.getByRole('button', { name: 'Continue', exact: true });
      expect(await primary.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(30, 64, 175)');
      expect(await css(page, 'a', 'color')).toBe('rgb(30, 64, 175)');
      // Cancel is a quiet button at the left, not a bar with its label centred.
      const cancel = page.getByRole('button', { name: 'Cancel' });
      const [cancelBox, emailBox] = [await cancel.boundingBox(), await page.getByLabel('Email', { exact: true }).boundingBox()];
      expect(cancelBox!.x).toBeCloseTo(emailBox!.x, 0);
      expect(cancelBox!.width).toBeLessThan(emailBox!.width / 2);
      // A favicon that exists.
      const icon = await page.locator('link[rel=icon]').getAttribute('href');
      const iconResponse = await page.request.get(new URL(icon!, page.url()).toString());
      expect(iconResponse.status()).toBe(200);
      expect(iconResponse.headers()['content-type']).toContain('image/svg+xml');
      await fitsWidth(page);
      await screenshot(page, testInfo, 'provider-sign-in');

      await page.getByRole('button', { name: `Continue as ${users.alice.name} (${users.alice.email})` }).click();
      await expect(page.getByRole('heading', { name: 'Choose an organization' })).toBeVisible();
      await fitsWidth(page);
      await screenshot(page, testInfo, 'provider-organizations');
    });

    test('the landing page speaks to the people who use the product', async ({ page }, testInfo) => {
      await page.goto('/');
      await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
      for (const region of [page.getByRole('main'), page.getByRole('contentinfo')]) {
        expect(await region.innerText()).not.toMatch(/token|cookie|script|server/i);
      }
      await fitsWidth(page);
      await screenshot(page, testInfo, 'landing');
    });
  });
}

test('real files are served, missing ones are 404, client routes get the app', async ({ request }) => {
  const favicon = await request.get('/favicon.ico');
  expect(favicon.status()).toBe(200);
  expect(favicon.headers()['content-type']).toMatch(/^image\//);
  expect([...(await favicon.body()).subarray(0, 4)]).toEqual([0, 0, 1, 0]); // an ICO file

  const robots = await request.get('/robots.txt');
  expect(robots.status()).toBe(200);
  expect(robots.headers()['content-type']).toContain('text/plain');
  expect(await robots.text()).toContain('User-agent: *');

  for (const path of ['/logo.png', '/wp-login.php', '/sessions/export.csv', '/assets/gone-1234.js']) {
    const response = await request.get(path);
    expect(response.status(), path).toBe(404);
    expect(response.headers()['content-type'], path).not.toContain('text/html');
  }
  for (const path of ['/dashboard', '/no/such/page']) {
    const response = await request.get(path);
    expect(response.status(), path).toBe(200);
    expect(await response.text(), path).toContain('<div id="root">');
  }
  const api = await request.get('/api/no-such-route');
  expect(api.status()).toBe(404);
  expect(await api.json()).toMatchObject({ error: 'not_found' });
});
