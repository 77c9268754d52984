// A globalSetup that signs users in once, before any test, and saves each
// storage state to a file that tests load with test.use({ storageState }).
// Copy it and change `accounts`; point playwright.config.ts at it:
//
//   globalSetup: './e2e/kit/global-setup.ts',
//   use: { baseURL: 'http://localhost:8080' },
//
// A saved session is shared by every test that loads it: keep those tests to
// reading. A test that signs out, or ends sessions, signs in for itself
// (test.use({ user }) in ./fixtures.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FullConfig } from '@playwright/test';
import { signedInState, type KitUser } from './sign-in';

/** The file each account's storage state is saved to. */
export const accounts: Record<string, { user: KitUser; file: string }> = {
  reader: { user: { email: 'reader@acme.test' }, file: 'playwright/.auth/reader.json' },
};

export default async function globalSetup(config: FullConfig): Promise<void> {
  const baseURL = config.projects[0]?.use.baseURL;
  if (!baseURL) throw new Error("kit: set use.baseURL in playwright.config.ts to your app's address");
  for (const { user, file } of Object.values(accounts)) {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(await signedInState(baseURL, user)));
  }
}
