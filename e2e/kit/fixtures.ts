// Playwright fixtures for teams testing an app built on this BFF. The app's
// address is Playwright's own `baseURL` (use.baseURL in playwright.config.ts);
// nothing here knows this repository's ports.
//
//   import { test, expect } from './kit/fixtures';
//   test.use({ user: { email: 'alice@acme.test', organizationId: 'org_acme' } });
//   test('admin sees the dashboard', async ({ page }) => { await page.goto('/dashboard'); ... });
import { test as base } from '@playwright/test';
import { signIn, type KitUser, type SignInOptions } from './sign-in';

export { expect } from '@playwright/test';
export type { KitUser } from './sign-in';

export interface KitFixtures {
  /** Sign every page of the test in as this user before it starts (default: nobody). */
  user: KitUser | undefined;
  /** Signs the test's browser context in as a user, over HTTP, mid-test. */
  signInAs: (user: KitUser, options?: SignInOptions) => Promise<void>;
}

export const test = base.extend<KitFixtures>({
  user: [undefined, { option: true }],
  // The browser context's own request shares its cookies and user agent, so the
  // session the app records is this browser's.
  context: async ({ context, user, baseURL }, use) => {
    if (user) {
      requireBaseURL(baseURL);
      await signIn(context.request, user);
    }
    await use(context);
  },
  signInAs: async ({ context, baseURL }, use) => {
    await use(async (user, options) => {
      requireBaseURL(baseURL);
      await signIn(context.request, user, options);
    });
  },
});

function requireBaseURL(baseURL: string | undefined): asserts baseURL is string {
  if (!baseURL) throw new Error("kit: set use.baseURL in playwright.config.ts to your app's address");
}
