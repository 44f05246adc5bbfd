/**
 * A short tour of @toolkit/cache, in memory only (no Redis, no network). Run it with `pnpm demo`.
 *
 * Every claim the tour prints is also asserted, so CI (`pnpm examples`) fails if a behaviour changes.
 */
import assert from 'node:assert/strict';
import { Cache, CacheEventType } from '@toolkit/cache';
import type { CacheEventName } from '@toolkit/cache';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// A pretend backend: it counts its calls, answers after 5 ms and can be switched off.
const backend = { productCalls: 0, priceCalls: 0, down: false };

async function fetchProduct(id: number): Promise<{ id: number; name: string }> {
  backend.productCalls++;
  await sleep(5);
  return { id, name: `Product ${id}` };
}

async function fetchPrice(symbol: string): Promise<number> {
  backend.priceCalls++;
  await sleep(5);
  if (backend.down) throw new Error('price service unavailable');
  return symbol.length * 10 + backend.priceCalls;
}

// One cache: defaults for every scope, and one listener that sees every event of every scope.
const seen = new Map<CacheEventName, number>();
const cache = new Cache({
  ttl: '5m',
  maxSize: 1000,
  onEvent: (event) => seen.set(event.type, (seen.get(event.type) ?? 0) + 1),
});

// Each wrapped function gets its own scope; keys are derived from the arguments.
const getProduct = cache.cached(fetchProduct);
// This one keeps a stale price for a minute, to answer with it if the backend fails.
const getPrice = cache.cached(fetchPrice, { ttl: 50, failSafe: '1m', failSafeThrottle: '5s' });

console.log('@toolkit/cache: a short tour (in memory, no Redis)\n');

console.log('1. Miss, then hit');
const first = await getProduct(42);
console.log(`   getProduct(42) -> ${JSON.stringify(first)}   (miss: the function ran)`);
const second = await getProduct(42);
console.log(`   getProduct(42) -> ${JSON.stringify(second)}   (hit: still ${backend.productCalls} call)`);
assert.equal(backend.productCalls, 1);
assert.equal(second, first); // the very same object, straight from memory
console.log(`   its key, derived from the arguments: '${getProduct.keyFor(42)}'`);
assert.equal(getProduct.keyFor(42), 'fetchProduct:#42');

console.log('\n2. Single-flight: 100 concurrent calls for a key nobody has loaded yet');
const before = backend.productCalls;
const many = await Promise.all(Array.from({ length: 100 }, () => getProduct(7)));
const ran = backend.productCalls - before;
console.log(`   ${many.length} callers got ${JSON.stringify(many[0])}; the function ran ${ran} time`);
assert.equal(ran, 1);
assert.ok(many.every((p) => p === many[0]));

console.log('\n3. Fail-safe: answer with the last good value when the backend fails');
const fresh = await getPrice('ACME');
console.log(`   getPrice('ACME') -> ${fresh}   (ttl 50 ms, failSafe 1 min)`);
await sleep(60);
backend.down = true;
console.log('   ...60 ms later the entry is stale, and the backend is down');
const stale = await getPrice('ACME');
console.log(`   getPrice('ACME') -> ${stale}   (stale value, served because the function threw)`);
const callsAfterError = backend.priceCalls;
const throttled = await getPrice('ACME');
console.log(`   getPrice('ACME') -> ${throttled}   (backend not asked again for 5 s: failSafeThrottle)`);
assert.equal(stale, fresh);
assert.equal(throttled, fresh);
assert.equal(backend.priceCalls, callsAfterError);
const noStale = await getPrice('NEW').catch((error: Error) => error);
console.log(`   getPrice('NEW') -> rejects "${(noStale as Error).message}"   (nothing stale to fall back on)`);
assert.ok(noStale instanceof Error);

console.log('\n4. Stats (cache.stats(): every scope added up, and each scope)');
const stats = cache.stats();
const { hits, misses, staleHits, loads, loadErrors, size } = stats;
console.log(`   hits ${hits}, misses ${misses} (the 99 callers that joined a load count as misses), stale hits ${staleHits}`);
console.log(`   loads ${loads}, load errors ${loadErrors}, entries held ${size}`);
for (const [name, s] of Object.entries(stats.scopes)) {
  console.log(`   scope ${name}: hits ${s.hits}, misses ${s.misses}, entries ${s.size}/${s.maxSize}`);
}
// getProduct: 1 miss + 1 hit, then 100 calls on key 7 (1 miss that loads, 99 that join it).
// getPrice: 1 miss, 1 stale (error), 1 stale (throttle), 1 failed miss.
assert.deepEqual(
  { hits, misses, staleHits, loads, loadErrors, size },
  { hits: 1, misses: 105, staleHits: 2, loads: 5, loadErrors: 2, size: 3 },
);

console.log('\n5. Events (one listener on the cache sees every scope)');
for (const [type, count] of seen) console.log(`   ${type.padEnd(16)} x${count}`);
assert.equal(seen.get(CacheEventType.CACHE_HIT), 1);
// Events match the counters: every counted miss (the throttled answer too) emitted CACHE_MISS.
assert.equal(seen.get(CacheEventType.CACHE_MISS), misses);
assert.equal(seen.get(CacheEventType.CACHE_STALE_HIT), 2);
assert.equal(seen.get(CacheEventType.CACHE_LOAD_ERROR), 2);

console.log('\nNext: README.md (every option, the API) and the other files in examples/.');
