/**
 * Atomic, ordered writes on a real Redis this file starts for itself (never the shared one): a tagged write
 * whose round trip times out (Redis paused) still lands whole once Redis answers, and a load that started
 * before another process's write cannot replace that write in Redis when it finishes. Auto-recovery is
 * off in these caches, so what is tested is the write itself, not its replay. Real timers; bounded waits.
 */
import { Cache } from '@toolkit/cache';
import type { CacheEventMap } from '@toolkit/cache';
import { RedisBackplane, RedisStore, v8Serializer } from '@toolkit/cache-redis';
import type { RedisSerializer } from '@toolkit/cache-redis';
import { privateRedisPerTest, within } from '../redisServers';

const TIMEOUT_MS = 200;
const PREFIX = 'ordered';
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

const redis = privateRedisPerTest();
const closers = redis.closers;

/** A store; the test's own readers get a roomy timeout (a fresh connection on a busy machine is slow). */
function storeOn(url: string, serializer?: RedisSerializer, timeoutMs = 2_000): RedisStore {
  const store = RedisStore.connect(url, { prefix: PREFIX, timeoutMs, ...(serializer === undefined ? {} : { serializer }) });
  closers.push(() => store.close());
  return store;
}

/** A cache on its own connections; `backplane: false` for one that cannot hear the others. */
async function cacheOn(url: string, options: { backplane?: boolean; serializer?: RedisSerializer; timeoutMs?: number } = {}) {
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  const store = storeOn(url, options.serializer, timeoutMs);
  const backplane = options.backplane === false ? undefined : RedisBackplane.connect(url, { prefix: PREFIX, timeoutMs });
  const errors: Array<CacheEventMap['CACHE_L2_ERROR']> = [];
  const cache = new Cache({
    prefix: PREFIX,
    ttl: 60_000,
    store,
    ...(backplane === undefined ? {} : { backplane }),
    autoRecovery: false,
    onEvent: (e) => e.type === 'CACHE_L2_ERROR' && errors.push(e),
  });
  closers.push(async () => {
    await cache.close();
    await backplane?.close();
  });
  await within(cache.ready, 5_000, 'subscribing');
  await within(store.ping(), 5_000, 'PING');
  return { cache, store, errors, items: cache.scope<string>('items') };
}

describe('atomic tagged writes (a private redis-server per test)', () => {
  it('a tagged set whose round trip timed out (Redis paused) lands whole after the pause: value and tag version', async () => {
    const s = redis.server;
    const first = await cacheOn(s.url);
    // Another process, which has never seen tag t's version: its write still takes one round trip.
    const writer = await cacheOn(s.url);
    const reader = storeOn(s.url);
    await first.items.set('k', 'v1', { tags: ['t'] });
    expect((await reader.getMany(['items:k']))[0]).toMatchObject({ value: 'v1', tags: ['t'] });

    const PAUSE_MS = 600;
    await s.pause(PAUSE_MS);
    const pausedAt = Date.now();
    await within(writer.items.set('k', 'v2', { tags: ['t'] }), 2_000, 'set while paused');
    expect(Date.now() - pausedAt).toBeLessThan(PAUSE_MS); // the caller did not wait for Redis
    // Timed out, and said so (with auto-recovery off the message still goes out, and times out too).
    expect(writer.errors.map((e) => e.operation)).toEqual(['set', 'publish']);

    await sleep(Math.max(0, pausedAt + PAUSE_MS - Date.now()) + 100);
    // The write was one script: it ran once Redis resumed, tag bookkeeping included (a live entry).
    expect((await within(reader.getMany(['items:k']), 2_000, 'read'))[0]).toMatchObject({ value: 'v2', tags: ['t'] });
    await writer.cache.invalidateTags(['t']);
    expect(await reader.getMany(['items:k'])).toEqual([undefined]);
  });
});

describe.each([
  ['json', undefined],
  ['v8', v8Serializer],
])('ordered writes, %s serializer (a private redis-server per test)', (_name, serializer) => {
  it('a load that started before another process wrote cannot replace that write in Redis', async () => {
    const s = redis.server;
    // The slow loader does not hear the others (no backplane): only the stamp can stop its late write.
    // No fault here: a roomy timeout, so that a busy machine cannot turn a slow reply into an L2 error.
    const options = { timeoutMs: 2_000, ...(serializer === undefined ? {} : { serializer }) };
    const slow = await cacheOn(s.url, { ...options, backplane: false });
    const writer = await cacheOn(s.url, options);
    const reader = await cacheOn(s.url, options);

    const loading = slow.items.getOrSet('k', async () => {
      await sleep(300);
      return 'v1 (loaded from before the write)';
    });
    await sleep(100);
    await writer.items.set('k', 'v2');
    expect(await within(loading, 2_000, 'the slow load')).toBe('v1 (loaded from before the write)');

    expect(await reader.items.get('k')).toBe('v2');
    expect((await storeOn(s.url, serializer).getMany(['items:k']))[0]).toMatchObject({ value: 'v2' });
    expect([...slow.errors, ...writer.errors, ...reader.errors]).toEqual([]);

    // A load that starts after the write does replace it.
    await slow.items.remove('k');
    expect(await slow.items.getOrSet('k', async () => 'v3')).toBe('v3');
    expect((await storeOn(s.url, serializer).getMany(['items:k']))[0]).toMatchObject({ value: 'v3' });
  });
});
