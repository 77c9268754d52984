import { randomBytes } from 'node:crypto';
import { defineConfig } from '@playwright/test';

// The e2e suite runs against the real server (`go run ./server/cmd/bff`) with its
// built-in identity provider, short access-token lifetimes (so refresh happens
// during the tests), a real Redis, and the SPA embedded from `npm run build`.
// E2E_PORT moves the app (and the provider, on the next port) so several
// checkouts can run the suite side by side.
const port = Number(process.env.E2E_PORT ?? 18080);
const baseURL = `http://localhost:${port}`;
export const idpAddr = `127.0.0.1:${port + 1}`;

// The server keeps its sessions in a Redis database of the suite's own (15,
// not the 0 that apps and the Go tests use) under a key prefix unique to this
// run, and e2e/global-teardown.ts deletes that prefix's keys, and only those:
// other checkouts may be running the suite against the same Redis. The prefix
// goes through the environment because this file is evaluated again in every
// worker, which inherits the runner's environment.
export const redisURL = process.env.E2E_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
process.env.E2E_REDIS_KEY_PREFIX ??= `e2e:${port}:${randomBytes(4).toString('hex')}:`;
export const redisKeyPrefix = process.env.E2E_REDIS_KEY_PREFIX;

export default defineConfig({
  testDir: './e2e',
  // The kit's example, as is: it saves a signed-in reader for e2e/kit.spec.ts.
  globalSetup: './e2e/kit/global-setup.ts',
  globalTeardown: './e2e/global-teardown.ts',
  forbidOnly: !!process.env.CI,
  retries: 0, // a retry hides a flake
  workers: 2,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: process.env.CI ? [['list'], ['html', { open: 'never' }]] : 'list',
  use: {
    baseURL,
    browserName: 'chromium',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      // Debian's Chromium: a browser download (npx playwright install) cannot reach
      // the internet here; these flags keep Chromium off the network it would try.
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: 'go run ./server/cmd/bff',
    url: `${baseURL}/healthz`,
    reuseExistingServer: !process.env.CI,
    timeout: 180_000,
    // The server's request log is long; E2E_SERVER_LOG=1 shows it.
    stdout: process.env.E2E_SERVER_LOG ? 'pipe' : 'ignore',
    stderr: 'pipe',
    env: {
      LISTEN_ADDR: `127.0.0.1:${port}`,
      APP_BASE_URL: baseURL,
      APP_ENV: 'test',
      DEV_IDP_ADDR: idpAddr,
      DEV_IDP_ACCESS_TOKEN_TTL: '5s',
      TOKEN_REFRESH_SKEW: '2s',
      REDIS_URL: redisURL,
      REDIS_KEY_PREFIX: redisKeyPrefix,
    },
  },
});
