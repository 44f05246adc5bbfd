/**
 * resilient() on Redis: the cache layer of a pipeline is the `Cache` of its `ResilienceRegistry`; give the
 * registry the cache `createCache()` builds from the environment, and every pipeline of that registry
 * caches in L1 + Redis, with the backplane keeping the processes' L1 copies in step.
 *
 * Two "processes" (two registries, each on its own createCache() handle: its own connections, the same
 * CACHE_PREFIX) wrap the same flaky function:
 *
 * 1. process A: a miss; the first attempt fails with a 503, the retry succeeds; the value goes to A's L1
 *    and to Redis. Its next call is an L1 hit: no retry, breaker or timeout runs.
 * 2. process B: an L1 miss answered by Redis: the function does not run in B.
 * 3. process A invalidates the entry: it leaves Redis, and the backplane drops B's L1 copy, so B's next
 *    call runs the function.
 *
 * Needs a Redis: REDIS_URL, else redis://127.0.0.1:6379. Without one it says so and exits 0.
 * The keys it writes live under a namespace of their own, removed at the end (SCAN + UNLINK).
 *
 * Run: pnpm build && pnpm exec tsx examples/resilient-on-redis.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CacheEventType } from '@toolkit/cache';
import { createCache, maskCacheUrl } from '@toolkit/cache-redis';
import type { CacheHandle } from '@toolkit/cache-redis';
import { EventType, ResilienceRegistry } from '@toolkit/core';
import type { EventTypeName } from '@toolkit/core';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// Letters, digits, '.', '_', '-' only: CACHE_PREFIX refuses ':'.
const prefix = `demo-resilient-${process.pid}-${randomBytes(3).toString('hex')}`;
const env = { CACHE_URL: url, CACHE_PREFIX: prefix };

// A pretend inventory API: its first call answers 503, the others succeed.
let apiCalls = 0;
async function getStock(sku: string): Promise<{ sku: string; available: number }> {
  apiCalls++;
  await sleep(2);
  if (apiCalls === 1) throw new Error('HTTP 503');
  return { sku, available: 40 + apiCalls };
}

/** One process's wiring: the cache from the environment, a registry on it, one pipeline. */
function processWith(handle: CacheHandle, events: EventTypeName[]) {
  const registry = new ResilienceRegistry({ cache: handle.cache });
  const stock = registry.resilient({
    name: 'stock',
    cache: { ttl: '1m', failSafe: '10m' }, // a scope `getStock` of handle.cache: L1 + Redis
    retry: { maxAttempts: 3, delay: '10ms' },
    circuitBreaker: { failureThreshold: 5, halfOpenAfter: '10s' },
    timeout: '500ms',
    onEvent: (event) => events.push(event.type),
  })(getStock);
  return { registry, stock };
}

const a = createCache(env);
// ping() goes through the store's timeout (500 ms by default) and circuit breaker.
const answered = await a.ping().then(
  () => true,
  () => false,
);
if (!answered) {
  console.log(
    `This example needs Redis: nothing answered PING at ${maskCacheUrl(url)}. ` +
      'Start one (redis-server, or docker run --rm -p 6379:6379 redis:7) or set REDIS_URL, then run it again. Skipped.',
  );
  await a.close();
} else {
  const b = createCache(env);
  try {
    await Promise.all([a.cache.ready, b.cache.ready]); // both subscribed to the backplane
    console.log(`Redis at ${maskCacheUrl(url)} answers; namespace ${a.store?.namespace}`);

    const eventsA: EventTypeName[] = [];
    const eventsB: EventTypeName[] = [];
    const inA = processWith(a, eventsA);
    const inB = processWith(b, eventsB);

    // 1. A: miss → retry after a 503 → success, stored in L1 and Redis; then an L1 hit.
    const first = await inA.stock('sku-1');
    assert.deepEqual(first, { sku: 'sku-1', available: 42 });
    assert.equal(apiCalls, 2);
    assert.deepEqual(eventsA, [EventType.CACHE_MISS, EventType.RETRY, EventType.SUCCESS]);
    console.log(`A: stock('sku-1') → ${JSON.stringify(first)} after ${apiCalls} API calls (events: ${eventsA.join(', ')})`);

    assert.deepEqual(await inA.stock('sku-1'), first);
    assert.equal(apiCalls, 2);
    assert.equal(eventsA.at(-1), EventType.CACHE_HIT);
    console.log(`A: stock('sku-1') again → L1 hit, no API call; key in Redis: ${a.store?.entryKey(inA.stock.cache?.keyFor('sku-1') ?? '')}`);

    // 2. B: its L1 is empty, Redis has A's value, and the function does not run here.
    let l2HitsInB = 0;
    b.cache.on(CacheEventType.CACHE_L2_HIT, () => l2HitsInB++);
    assert.deepEqual(await inB.stock('sku-1'), first);
    assert.equal(apiCalls, 2);
    assert.equal(l2HitsInB, 1);
    console.log(`B: stock('sku-1') → ${JSON.stringify(first)} from Redis (CACHE_L2_HIT), API calls still ${apiCalls}`);

    // 3. A invalidates: gone from Redis, and the backplane drops B's L1 copy.
    assert.equal(await inA.stock.cache?.invalidate('sku-1'), true);
    const scopeInB = inB.stock.cache?.scope;
    const since = Date.now();
    while ((scopeInB?.size ?? 0) > 0) {
      assert.ok(Date.now() - since < 2_000, 'the backplane message never reached B');
      await sleep(5);
    }
    const reloaded = await inB.stock('sku-1');
    assert.deepEqual(reloaded, { sku: 'sku-1', available: 43 });
    assert.equal(apiCalls, 3);
    console.log(`A invalidated 'sku-1'; B's L1 copy was dropped; B: stock('sku-1') → ${JSON.stringify(reloaded)} (API call ${apiCalls})`);
    console.log(`breaker 'stock' in A: ${inA.registry.health().stock?.state}`);
  } finally {
    const removed = await removeNamespace(a, prefix);
    console.log(`removed ${removed} key(s) of the namespace ${prefix}:* (SCAN + UNLINK)`);
    await Promise.all([a.close(), b.close()]);
  }
}

/** Deletes every key of the example's namespace: SCAN MATCH + UNLINK on each master, never KEYS or FLUSH*. */
async function removeNamespace(handle: CacheHandle, namespacePrefix: string): Promise<number> {
  const client = handle.store?.client;
  if (client === undefined) return 0;
  const nodes = 'nodes' in client ? client.nodes('master') : [client]; // a Cluster: every master
  let removed = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${namespacePrefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) removed += await node.unlink(...keys);
    } while (cursor !== '0');
  }
  return removed;
}
