/**
 * Cache policy (seed 000): defaults for the whole cache (ttl, failSafe, hardTimeout, jitter, maxSize), a
 * cached function whose scope overrides some of them and inherits the rest, maxSize per scope, and a
 * manual scope with get / set / remove / clear.
 *
 * Entries read the time from the `clock` option, so this file moves a manual clock instead of sleeping
 * for minutes. Timeouts are real timers (setTimeout), so `hardTimeout` is shortened to 50 ms here.
 *
 * Run: pnpm build && pnpm exec tsx examples/seed-000-cache-policy.ts
 */
import assert from 'node:assert/strict';
import { Cache, isCacheTimeoutError } from '@toolkit/cache';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const SECOND = 1000;
const MINUTE = 60 * SECOND;

let now = Date.parse('2025-01-01T00:00:00Z');
const clock = { now: () => now };
const advance = (ms: number) => {
  now += ms;
};

// Defaults for every scope of this cache. Supplied values replace the library defaults; the rest
// (failSafeThrottle 30 s, no softTimeout, ...) keep them.
const cache = new Cache({
  ttl: '2m', // fresh for 2 minutes after a write
  failSafe: '10m', // then kept 10 more minutes, served only when a refresh fails or is too slow
  hardTimeout: '50ms', // stop waiting for a factory after this (the seed's 3 s, shortened)
  jitter: '10s', // each write gets a random extra 0 to 10 s of freshness
  maxSize: 1000, // at most 1000 entries per scope (not per cache)
  clock,
});

// --- 1. A scope created without options inherits every default -------------------------------------
const settings = cache.scope<string>('settings');
assert.equal(settings.maxSize, 1000);
await settings.set('theme', 'dark');
advance(2 * MINUTE - 1);
assert.equal(await settings.get('theme'), 'dark'); // ttl (+ jitter >= 0): still fresh
advance(10 * SECOND + 1);
assert.equal(await settings.get('theme'), undefined); // past ttl + jitter: stale, never a plain hit
// ...but the stale value is kept for failSafe, and served when the factory fails.
const failing = (): Promise<string> => Promise.reject(new Error('settings service down'));
assert.equal(await settings.getOrSet('theme', failing), 'dark');
console.log('defaults: fresh for ttl, then stale; stale "dark" served after a factory error (failSafe)');

// --- 2. Jitter: keys written together do not all expire together ------------------------------------
const batch = cache.scope<number>('batch');
for (let i = 0; i < 100; i++) await batch.set(`k${i}`, i);
const freshCount = async () => {
  let n = 0;
  for (let i = 0; i < 100; i++) if (await batch.has(`k${i}`)) n++;
  return n;
};
const jitterStart = now;
advance(2 * MINUTE - 1);
assert.equal(await freshCount(), 100); // nobody expires before ttl
now = jitterStart + 2 * MINUTE + 5 * SECOND;
const halfway = await freshCount(); // expiries are spread over [ttl, ttl + jitter]
assert.ok(halfway > 0 && halfway < 100, `expected a spread, got ${halfway}/100 fresh`);
now = jitterStart + 2 * MINUTE + 10 * SECOND;
assert.equal(await freshCount(), 0); // everybody has expired after ttl + jitter
console.log(`jitter: 5 s into the 10 s jitter window, ${halfway}/100 keys written together were still fresh`);

// --- 3. A cached function's scope: override some options, inherit the rest ---------------------------
let productCalls = 0;
let productServiceDown = false;
async function fetchProduct(productId: string): Promise<{ id: string; name: string }> {
  productCalls++;
  if (productId.startsWith('slow')) await sleep(100);
  if (productServiceDown) throw new Error('product service down');
  return { id: productId, name: `Product ${productId}` };
}

const getProduct = cache.cached(fetchProduct, {
  key: (productId) => `product:${productId}`,
  ttl: '30s', // replaces the cache's 2m
  failSafe: '5m', // replaces the cache's 10m
  maxSize: 500, // this function's own bound
  // hardTimeout (50 ms) and jitter (10 s) are inherited from the cache
});
assert.equal(getProduct.scope.maxSize, 500);
assert.equal(getProduct.keyFor('p1'), 'fetchProduct:product:p1'); // the scope's name, then the local key

await getProduct('p1');
advance(29 * SECOND);
await getProduct('p1');
assert.equal(productCalls, 1); // the function's ttl is 30 s: still a hit
advance(11 * SECOND + 1); // 40 s: past the 30 s ttl and the inherited 10 s jitter
await getProduct('p1');
assert.equal(productCalls, 2);
console.log('cached function: ttl 30s (overridden) expired at 40 s, while cache-default entries live 2 min');

// Inherited hardTimeout: a factory slower than 50 ms rejects with CacheTimeoutError (no stale value).
const slow = await getProduct('slow-1').catch((error: unknown) => error);
assert.ok(isCacheTimeoutError(slow));
assert.equal(slow.code, 'E_CACHE_TIMEOUT');
assert.equal(slow.key, 'fetchProduct:product:slow-1');
assert.equal(slow.timeoutMs, 50);
// The factory kept running in the background; its result is stored when it completes.
await sleep(80);
assert.deepEqual(await getProduct.scope.get('product:slow-1'), { id: 'slow-1', name: 'Product slow-1' });
console.log(`hardTimeout (inherited): "${slow.message}"`);

// Overridden failSafe: 5 minutes for this function, 10 for the cache.
const themeWritten = now;
await settings.set('layout', 'grid'); // a cache-default entry, same age as the product below
await getProduct.refresh('p1'); // rewrite p1 now
productServiceDown = true;
now = themeWritten + 30 * SECOND + 10 * SECOND + 5 * MINUTE + 1; // past p1's ttl + jitter + failSafe
await assert.rejects(getProduct('p1'), /product service down/); // outside its 5 min window: the error
assert.equal(await settings.getOrSet('layout', failing), 'grid'); // inside the cache's 10 min window
console.log('failSafe: 5 min (overridden) had run out for the product; 10 min (inherited) had not for settings');

// --- 4. maxSize is per scope -------------------------------------------------------------------------
const tiny = cache.scope<number>('tiny', { maxSize: 2 });
await tiny.set('a', 1);
await tiny.set('b', 2);
await tiny.set('c', 3); // evicts 'a', the least recently used
assert.deepEqual(tiny.keys(), ['b', 'c']);
assert.equal(tiny.stats().evictions, 1);
assert.equal(batch.size, 100); // another scope of the same cache is not affected by tiny's bound
console.log(`maxSize per scope: 'tiny' holds ${tiny.size}/2, 'batch' still holds ${batch.size}`);

// --- 5. A manual scope: you call get / set / remove / clear yourself --------------------------------
interface User {
  id: number;
  name: string;
}
const users = cache.scope<User>('users', { ttl: '30s', maxSize: 500 });
await users.set('user:123', { id: 123, name: 'Ada' });
assert.deepEqual(await users.get('user:123'), { id: 123, name: 'Ada' });
assert.equal(await users.remove('user:123'), true);
assert.equal(await users.get('user:123'), undefined);
await users.set('user:1', { id: 1, name: 'Grace' });
await users.set('user:2', { id: 2, name: 'Linus' });
await users.clear();
assert.equal(users.size, 0);
// A scope is created once with its options; later calls without options return the same scope.
assert.equal(cache.scope('users'), users);
assert.throws(() => cache.scope('users', { ttl: '1m' }), TypeError);
// Manual scopes inherit the cache's defaults too: failSafe (10 min) here.
await users.set('user:7', { id: 7, name: 'Barbara' });
advance(45 * SECOND); // past the scope's 30 s ttl + 10 s jitter
const fallback = await users.getOrSet('user:7', () => Promise.reject(new Error('users db down')));
assert.deepEqual(fallback, { id: 7, name: 'Barbara' });
console.log('manual scope: set/get/remove/clear, and the inherited failSafe served a stale user');

console.log('\nstats of every scope:', JSON.stringify(Object.keys(cache.stats().scopes)));
