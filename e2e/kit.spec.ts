// The Playwright kit (e2e/kit/) as a team would use it, and what it saves.
import { performance } from 'node:perf_hooks';
import { accounts } from './kit/global-setup';
import { signIn as kitSignIn } from './kit/sign-in';
import { expect, freshUser, signIn, test } from './fixtures';

test.describe('a seeded user in a chosen organization', () => {
  test.use({ user: { email: 'alice@acme.test', organizationId: 'org_globex' } });

  test('the page starts signed in', async ({ page }) => {
    await page.goto('/dashboard');
    const main = page.getByRole('main');
    await expect(main.getByRole('heading', { name: 'Alice Admin' })).toBeVisible();
    await expect(main.getByText('org_globex')).toBeVisible();
    await expect(main.getByRole('list', { name: 'Roles' })).toHaveText('member');
  });
});

test('any email signs in as a new user, mid-test', async ({ page, signInAs }) => {
  const user = freshUser('kit');
  await signInAs(user, { returnTo: '/sessions' });
  await page.goto('/sessions');
  await expect(page.getByRole('main').getByText(user.email)).toBeVisible();
  // The session is this browser's: the app recorded its user agent.
  await expect(page.getByRole('listitem').filter({ hasText: 'This device' })).toContainText('Headless Chrome');
});

test('a user in several organizations must be given one', async ({ signInAs }) => {
  await expect(signInAs({ email: 'alice@acme.test' })).rejects.toThrow('belongs to several organizations; set organizationId');
});

test('an organization the user is not in is refused', async ({ signInAs }) => {
  await expect(signInAs({ email: 'carol@globex.test', organizationId: 'org_acme' })).rejects.toThrow(
    'the app refused the sign-in of carol@globex.test: not_a_member',
  );
});

test.describe('the state saved by the globalSetup', () => {
  test.use({ storageState: accounts.reader?.file });

  test('signs the page in', async ({ page }) => {
    await page.goto('/dashboard');
    await expect(page.getByRole('main').getByText('reader@acme.test')).toBeVisible();
  });
});

// Numbers for the README, not a test of speed: both ways must reach the
// dashboard as the user; their times are reported (annotations and stdout).
// It signs in six times on purpose, hence slow() (three times the timeout).
test('kit sign-in and hosted-page sign-in, timed', async ({ browser }, testInfo) => {
  test.slow();
  const rounds = 3;
  const times = { kit: [] as number[], kitAndPage: [] as number[], hostedPage: [] as number[] };
  const kitContext = await browser.newContext();
  const kitPage = await kitContext.newPage();
  const hostedContext = await browser.newContext();
  const hostedPage = await hostedContext.newPage();
  for (let i = 0; i < rounds; i++) {
    const user = freshUser('timing');

    await kitContext.clearCookies();
    const kitStart = performance.now();
    await kitSignIn(kitContext.request, user);
    times.kit.push(performance.now() - kitStart);
    await kitPage.goto('/dashboard');
    await expect(kitPage.getByRole('main').getByText(user.email)).toBeVisible();
    times.kitAndPage.push(performance.now() - kitStart);

    await hostedContext.clearCookies();
    const hostedStart = performance.now();
    await signIn(hostedPage, user); // from the landing page through the hosted page to the dashboard
    times.hostedPage.push(performance.now() - hostedStart);
  }
  await kitContext.close();
  await hostedContext.close();

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(0);
  const report =
    `sign-in, median of ${rounds}: kit over HTTP ${median(times.kit)} ms; ` +
    `kit then the dashboard open ${median(times.kitAndPage)} ms; ` +
    `hosted page to the dashboard ${median(times.hostedPage)} ms`;
  testInfo.annotations.push({ type: 'timing', description: report });
  console.log(report);
});
