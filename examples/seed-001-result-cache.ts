/**
 * Result cache (seed 001): a cached function with LRU + TTL, `ttl: 0` for values that never expire,
 * stampede prevention (always on, nothing to configure), CACHE_HIT / CACHE_MISS events, and
 * `ResultCache` for direct, synchronous use: makeKey, put / get / invalidate / clear, stats.
 *
 * (The seed also wraps the cache around retry, circuit breaker and timeout with `resilient()`: that is
 * the planned @toolkit/core package, not part of @toolkit/cache.)
 *
 * Run: pnpm build && pnpm exec tsx examples/seed-001-result-cache.ts
 */
import assert from 'node:assert/strict';
import { Cache, CacheEventType, ResultCache, makeKey } from '@toolkit/cache';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// Events of every scope, counted by type (the cache-wide listener).
const cache = new Cache();
const counted = { hits: 0, misses: 0 };
cache.on(CacheEventType.CACHE_HIT, () => counted.hits++);
cache.on(CacheEventType.CACHE_MISS, (event) => {
  counted.misses++;
  if (event.key === 'getUser:#1') console.log(`  event: ${event.type} for ${event.key} in scope ${event.scope}`);
});

// --- 1. LRU + TTL -----------------------------------------------------------------------------------
const apiCalls: number[] = [];
async function getUser(userId: number): Promise<{ id: number; name: string }> {
  apiCalls.push(userId);
  await sleep(1);
  return { id: userId, name: `user ${userId}` };
}
const cachedUser = cache.cached(getUser, { maxSize: 2, ttl: 100 });

await cachedUser(1); // miss: calls the API
await cachedUser(1); // hit
await cachedUser(2); // miss
await cachedUser(1); // hit: 1 is now the most recently used
await cachedUser(3); // miss: the scope is full (maxSize 2), so 2, the least recently used, leaves
assert.deepEqual(apiCalls, [1, 2, 3]);
assert.deepEqual(cachedUser.scope.keys(), ['#1', '#3']);
await cachedUser(2); // evicted, so a miss again
assert.deepEqual(apiCalls, [1, 2, 3, 2]);
assert.equal(cachedUser.scope.stats().evictions, 2);
console.log(`LRU: maxSize 2, API calls for ids ${apiCalls.join(', ')} (2 was evicted, then loaded again)`);

await sleep(110); // past the 100 ms ttl
await cachedUser(2);
assert.deepEqual(apiCalls, [1, 2, 3, 2, 2]);
console.log('TTL: after 110 ms the entry for 2 had expired and the API was called again');

// Different arguments, different keys (and type-safe: '1' and 1 never collide).
const searches: string[] = [];
const search = cache.cached(async (query: string, page = 1) => {
  searches.push(`${query}#${page}`);
  return [`${query} result ${page}`];
});
await search('typescript', 1);
await search('typescript', 2); // another key
await search('typescript', 1); // hit
assert.deepEqual(searches, ['typescript#1', 'typescript#2']);
// Keys come from the arguments as passed: default parameter values are not filled in first.
await search('typescript'); // not the key of search('typescript', 1)
assert.deepEqual(searches, ['typescript#1', 'typescript#2', 'typescript#1']);
assert.notEqual(makeKey('user', 1), makeKey('user', '1'));

// --- 2. ttl: 0 never expires (only LRU eviction or invalidation removes the entry) ---------------------
let configCalls = 0;
const getConfig = cache.cached(
  async (key: string) => {
    configCalls++;
    return `value of ${key}`;
  },
  { name: 'getConfig', maxSize: 1000, ttl: 0 },
);
await getConfig('feature.x');
await sleep(110); // longer than any ttl above
await getConfig('feature.x');
assert.equal(configCalls, 1);
console.log('ttl 0: still a hit after 110 ms, the function ran once');

// --- 3. Stampede prevention: one call per key, however many callers wait --------------------------
let priceCalls = 0;
const getPrice = cache.cached(
  async (symbol: string) => {
    priceCalls++;
    await sleep(10);
    return symbol.length;
  },
  { name: 'getPrice', ttl: 30 },
);
const cold = await Promise.all(Array.from({ length: 50 }, () => getPrice('ACME')));
assert.equal(priceCalls, 1);
await sleep(40); // the key expires under load...
const expired = await Promise.all(Array.from({ length: 50 }, () => getPrice('ACME')));
assert.equal(priceCalls, 2); // ...and is still recomputed once
assert.ok([...cold, ...expired].every((v) => v === 4));
console.log(`stampede: 2 x 50 concurrent calls (cold, then just expired) ran the function ${priceCalls} times`);

// --- 4. CACHE_HIT / CACHE_MISS events --------------------------------------------------------------------
// Per function: `onEvent` in its options, or `fn.scope.on(type, listener)`. Here, the cache-wide counts:
const stats = cache.stats();
assert.equal(counted.hits, stats.hits);
assert.equal(counted.misses, stats.misses);
console.log(`events: ${counted.hits} CACHE_HIT and ${counted.misses} CACHE_MISS, matching cache.stats()`);

// --- 5. ResultCache: direct use, without a wrapper ---------------------------------------------------
const results = new ResultCache<{ name: string }>({ maxSize: 100, ttl: '1m' });
const key = ResultCache.makeKey('user', 42);
results.put(key, { name: 'Alice' });
assert.deepEqual(results.get(key), { name: 'Alice' });
assert.deepEqual(results.stats, { hits: 1, misses: 0, hitRate: 1, size: 1, maxSize: 100 });

assert.equal(results.invalidate(key), true);
assert.deepEqual(results.stats, { hits: 1, misses: 0, hitRate: 1, size: 0, maxSize: 100 });
assert.equal(results.get(key), undefined); // counts a miss
assert.equal(results.stats.misses, 1);

results.put(makeKey('user', 1), { name: 'Bob' });
results.put(makeKey('user', '1'), { name: 'not Bob' }); // another key: '1' is not 1
assert.equal(results.stats.size, 2);
results.clear();
assert.equal(results.stats.size, 0);
console.log(`ResultCache: key ${key}, stats ${JSON.stringify(results.stats)}`);
