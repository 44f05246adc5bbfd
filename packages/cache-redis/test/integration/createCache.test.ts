import { Redis } from 'ioredis';
import { createCache } from '../../src/index';
import { cleanupPrefix, testRedisUrl, uniquePrefix } from '../sharedRedis';

/** A namespace of its own in the shared Redis (prefixes may not contain ':'). */
function namespace(name: string): string {
  return uniquePrefix(name).replaceAll(':', '.');
}

describe('createCache(env)', () => {
  it('uses memory for mem:// (and when no URL is set), with the TTL bucket as default ttl', async () => {
    const handle = createCache({ CACHE_URL: 'mem://', CACHE_TTL_DEFAULT: '2m' });
    expect(handle.store).toBeUndefined();
    expect(handle.config.backend).toEqual({ kind: 'memory' });
    expect(handle.cache.scope('s').policy.ttl).toBe(120_000);
    await expect(handle.ping()).resolves.toBeUndefined();
    // The same code as in production: distributedLock works on one process's in-memory lock.
    const locked = handle.cache.cached(async (n: number) => n * 2, { distributedLock: true });
    expect(await locked(21)).toBe(42);
    await handle.close();
    expect(createCache({}).config.backend.kind).toBe('memory');
  });

  it('refuses a bad URL at start-up, naming the variable', () => {
    expect(() => createCache({ CACHE_URL: 'http://cache:6379' })).toThrow(/CACHE_URL/);
  });

  it('shares values and invalidations between two instances through Redis', async () => {
    const prefix = namespace('createCache');
    const env = { CACHE_URL: testRedisUrl(), CACHE_PREFIX: prefix, CACHE_VERSION: 'v1' };
    const a = createCache(env);
    const b = createCache(env);
    try {
      await Promise.all([a.cache.ready, b.cache.ready]);
      await expect(a.ping()).resolves.toBeUndefined();
      let runsA = 0;
      let runsB = 0;
      const readA = a.cache.cached(async (id: number) => (runsA++, `user ${id} v1`), { key: 'user:{0}' });
      const readB = b.cache.cached(async (id: number) => (runsB++, `user ${id} from B`), { key: 'user:{0}' });
      expect(await readA(7)).toBe('user 7 v1');
      expect(await readB(7)).toBe('user 7 v1'); // from Redis: B's function did not run
      expect(runsB).toBe(0);
      expect(b.cache.stats().l2Hits).toBe(1);

      // The entry lives in Redis under the namespace.
      const raw = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        expect(await raw.exists(`${prefix}:v1:e:cached:user:7`)).toBe(1); // scope `cached` (an anonymous function)
      } finally {
        raw.disconnect();
      }

      // A invalidates; B's L1 copy goes (backplane) and so does the L2 entry: B runs its own function.
      await a.cache.invalidateTags(['user:7']);
      const deadline = Date.now() + 2_000;
      let seen = await readB(7);
      while (seen !== 'user 7 from B' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        seen = await readB(7);
      }
      expect(seen).toBe('user 7 from B');
      expect(runsA).toBe(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await cleanupPrefix(testRedisUrl(), prefix);
    }
  });
});
