// Shared steps for the e2e specs: specs import `test` and `expect` from here.
// `test` has the kit's fixtures too (./kit/fixtures.ts: the `user` option, signInAs).
import AxeBuilder from '@axe-core/playwright';
import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { idpAddr } from '../playwright.config';
import { test as base } from './kit/fixtures';

export { expect };

export const idpURL = `http://${idpAddr}`;

export interface TestUser {
  email: string;
  /** Seeded users have a button on the hosted page; others type their email. */
  name?: string;
  /** For users in several organizations: the one to pick on the chooser page. */
  organization?: string;
}

/** The development identity provider's seeded test users. */
export const users = {
  alice: { name: 'Alice Admin', email: 'alice@acme.test', organization: 'Acme Inc' },
  bob: { name: 'Bob Member', email: 'bob@acme.test' },
  carol: { name: 'Carol Unverified', email: 'carol@globex.test' },
} satisfies Record<string, TestUser>;

/**
 * A user no other test (or earlier run) has touched: typing a new email on the
 * hosted page creates them in Acme Inc. Tests that list or revoke a user's
 * sessions use one, so parallel tests cannot see or end each other's sessions.
 */
export function freshUser(label: string): TestUser {
  const unique = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return { email: `e2e-${label}-${unique}@acme.test` };
}

/** Drives the hosted login page the browser is on, through to the app. */
export async function completeHostedLogin(page: Page, user: TestUser): Promise<void> {
  await expect(page.getByRole('heading', { name: 'Sign in to Scalekit (development)' })).toBeVisible();
  if (user.name) {
    await page.getByRole('button', { name: `Continue as ${user.name} (${user.email})` }).click();
  } else {
    await page.getByLabel('Email', { exact: true }).fill(user.email);
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
  }
  if (user.organization) {
    await expect(page.getByRole('heading', { name: 'Choose an organization' })).toBeVisible();
    await page.getByRole('button', { name: user.organization }).click();
  }
}

/** Signs in from the landing page, as a person would, and waits for the dashboard. */
export async function signIn(page: Page, user: TestUser): Promise<void> {
  await page.goto('/');
  await page.getByRole('link', { name: 'Sign in', exact: true }).click();
  await completeHostedLogin(page, user);
  await expect(page).toHaveURL('/dashboard');
  await expect(page.getByRole('main').getByText(user.email)).toBeVisible();
}

/** What a person does when they come back to a tab: it becomes visible and focused. */
export async function returnToTab(page: Page): Promise<void> {
  await page.evaluate(() => {
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
    window.dispatchEvent(new Event('focus'));
  });
}

/** The identity provider's grant counters (GET /debug/counters). */
export class Idp {
  constructor(private readonly request: APIRequestContext) {}

  async counters(): Promise<Record<string, number>> {
    const response = await this.request.get(`${idpURL}/debug/counters`);
    expect(response.ok(), `GET ${idpURL}/debug/counters answered ${response.status()}`).toBe(true);
    return (await response.json()) as Record<string, number>;
  }

  async refreshCount(): Promise<number> {
    return (await this.counters()).refresh_token ?? 0;
  }

  /** How many webhooks of this type the app accepted (answered 2xx). */
  async webhooksDelivered(type: string): Promise<number> {
    return (await this.counters())[`webhook ${type} delivered`] ?? 0;
  }

  /**
   * The statuses of a user's sessions as the provider's REST API reports them
   * (GET /api/v1/users/{id}/sessions, Scalekit's shape), sorted: e.g.
   * ['active', 'revoked']. The app authenticates as the built-in client.
   */
  async sessionStatuses(userId: string): Promise<string[]> {
    const token = await this.request.post(`${idpURL}/oauth/token`, {
      form: { grant_type: 'client_credentials', client_id: 'dev-client', client_secret: 'dev-secret' },
    });
    expect(token.ok(), `client_credentials answered ${token.status()}`).toBe(true);
    const { access_token } = (await token.json()) as { access_token: string };
    const response = await this.request.get(`${idpURL}/api/v1/users/${encodeURIComponent(userId)}/sessions`, {
      headers: { Authorization: `Bearer ${access_token}` },
    });
    expect(response.ok(), `GET user sessions answered ${response.status()}`).toBe(true);
    const body = (await response.json()) as { sessions: { status: string }[] };
    return body.sessions.map((s) => s.status).sort();
  }
}

/** The signed-in user's id, as /api/me reports it. */
export async function userIdOf(page: Page): Promise<string> {
  const response = await page.request.get('/api/me');
  expect(response.ok(), `/api/me answered ${response.status()}`).toBe(true);
  return ((await response.json()) as { user: { id: string } }).user.id;
}

/** axe-core violations that matter: serious or critical, against WCAG 2.1 A/AA. */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
    .analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

export const test = base.extend<{
  signIn: (user: TestUser) => Promise<void>;
  idp: Idp;
  failOnPageErrors: void;
}>({
  // Every page of every test: an uncaught error, or anything the server's CSP
  // refused (an inline script or style would be), fails the test.
  failOnPageErrors: [
    async ({ context }, use) => {
      const problems: string[] = [];
      const watch = (page: Page) => {
        page.on('pageerror', (error) => problems.push(`${page.url()}: ${error.message}`));
        page.on('console', (message) => {
          if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) {
            problems.push(`${page.url()}: ${message.text()}`);
          }
        });
      };
      context.pages().forEach(watch);
      context.on('page', watch);
      await use();
      expect(problems, 'page errors and CSP violations').toEqual([]);
    },
    { auto: true },
  ],
  signIn: async ({ page }, use) => {
    await use((user) => signIn(page, user));
  },
  idp: async ({ playwright }, use) => {
    const request = await playwright.request.newContext();
    await use(new Idp(request));
    await request.dispose();
  },
});
