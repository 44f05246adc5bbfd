/**
 * The Redis every integration test file shares (REDIS_URL, or the one globalSetup started), and how to share
 * it safely: every test works under its own key prefix and cleans up only that prefix.
 *
 * Never FLUSHDB / FLUSHALL / KEYS here: other test files, and maybe other people, use the same server.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** Set by globalSetup to the URL of the Redis this run uses. */
export const TEST_REDIS_URL_ENV = 'TOOLKIT_TEST_REDIS_URL';

/** The URL of the Redis this test run shares; throws if jest's integration globalSetup did not run. */
export function testRedisUrl(): string {
  const url = process.env[TEST_REDIS_URL_ENV];
  if (url === undefined || url === '') {
    throw new Error(
      `${TEST_REDIS_URL_ENV} is not set: packages/cache-redis/test/globalSetup.ts did not run. ` +
        'Run integration tests through the jest "integration" project (npx jest --selectProjects integration ...), ' +
        `or set ${TEST_REDIS_URL_ENV} to a Redis you may write test keys to.`,
    );
  }
  return url;
}

/**
 * A key prefix no other test file, process or run will use: `test:<name>:<pid>:<8 hex chars>`.
 * `name` is reduced to `[A-Za-z0-9_.-]` so it can contain neither glob characters nor Cluster hash-tag braces.
 */
export function uniquePrefix(name: string): string {
  const safeName = name.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 60) || 'anon';
  return `test:${safeName}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** Escapes Redis glob metacharacters so `prefix` matches itself literally in SCAN MATCH. */
export function escapeGlob(text: string): string {
  return text.replace(/[\\*?[\]^]/g, (char) => `\\${char}`);
}

/**
 * Deletes every key that starts with `prefix` on the Redis at `url` (SCAN + UNLINK, never KEYS or FLUSH*).
 * Resolves with the number of keys deleted.
 */
export async function cleanupPrefix(url: string, prefix: string): Promise<number> {
  if (prefix.length < 3) {
    throw new Error(`cleanupPrefix refuses a prefix this short (${JSON.stringify(prefix)}): it would delete other tests' keys`);
  }
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000, commandTimeout: 5_000 });
  client.on('error', () => {
    // Reported through the failing command.
  });
  let deleted = 0;
  try {
    await client.connect();
    const match = `${escapeGlob(prefix)}*`;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    await client.quit().catch(() => client.disconnect());
  }
}
