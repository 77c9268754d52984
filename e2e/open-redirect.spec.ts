import type { Page } from '@playwright/test';
import { completeHostedLogin, expect, test, users } from './fixtures';

// Paths that look like ours but that the browser resolves to //evil.example: a
// page there that links to its own path would send the person off-site.
const attacks = ['/.//evil.example', '/%2e%2e//evil.example', '/ok/../..//evil.example'];

async function linksStayHome(page: Page, origin: string): Promise<void> {
  const hrefs = await page.locator('a[href]').evaluateAll((links) => links.map((a) => (a as HTMLAnchorElement).href));
  expect(hrefs.length).toBeGreaterThan(0);
  for (const href of hrefs) expect(new URL(href).origin, href).toBe(origin);
}

for (const returnTo of attacks) {
  test(`a sign-in link with returnTo ${returnTo} lands on the home page`, async ({ page, baseURL }) => {
    await page.goto(`/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
    await completeHostedLogin(page, users.bob);

    await expect(page).toHaveURL('/');
    await expect(page.getByText('You are signed in as Bob Member.')).toBeVisible();
    await linksStayHome(page, new URL(baseURL!).origin);
  });
}

test('the app opened at a path that names another host links only to itself', async ({ page, baseURL }) => {
  // The trailing slash makes it a client route: a last segment with a dot
  // (evil.example) reads as a missing file and gets a plain 404, with no links.
  await page.goto('/.//evil.example/'); // the browser is now on //evil.example/, on our origin
  expect(new URL(page.url()).pathname).toBe('//evil.example/');
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await linksStayHome(page, new URL(baseURL!).origin);
});
