// Deletes the Redis keys this run's server wrote: SCAN for the run's prefix and
// DEL what it finds. Never FLUSHDB: other checkouts may share the database.
// A server that Playwright reused (reuseExistingServer, outside CI) was started
// with another prefix; its keys are its owner's to clean up.
import { createClient } from '@redis/client';
import { redisKeyPrefix, redisURL } from '../playwright.config';

export default async function globalTeardown(): Promise<void> {
  const client = createClient({ url: redisURL });
  await client.connect();
  try {
    let deleted = 0;
    for await (const keys of client.scanIterator({ MATCH: `${redisKeyPrefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) deleted += await client.del(keys);
    }
    const { host, pathname } = new URL(redisURL); // no password in the log
    console.log(`e2e teardown: deleted ${deleted} Redis keys under ${redisKeyPrefix} at ${host}${pathname}`);
  } finally {
    client.destroy();
  }
}
