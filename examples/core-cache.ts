/**
 * resilient() — the cache layer: the outermost layer, so a hit runs nothing inside it (here: not even
 * the rate limiter), one load for many concurrent callers, errors never cached, a stale value served
 * when the pipeline fails (`failSafe`), and the wrapped function's `.cache` handle.
 *
 * Run: pnpm build && pnpm exec tsx examples/core-cache.ts
 */
import assert from 'node:assert/strict';
import { Cache } from '@toolkit/cache';
import { EventType, isRateLimitedError, resilient } from '@toolkit/core';
import type { EventTypeName } from '@toolkit/core';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// A pretend backend that counts its calls and can be switched off.
const backend = { calls: 0, down: false };
async function loadProduct(id: number): Promise<{ id: number; name: string }> {
  backend.calls++;
  await sleep(5);
  if (backend.down) throw new Error('catalog unavailable');
  return { id, name: `product ${id}` };
}

const events: EventTypeName[] = [];

// 1. A hit touches nothing: the limiter allows 1 call per second, yet ten hits go through.
const getProduct = resilient({
  cache: { ttl: 100, failSafe: '1m', maxSize: 100 },
  rateLimiter: { maxCalls: 1, period: '1s' },
  onEvent: (event) => events.push(event.type),
})(loadProduct);

const first = await getProduct(1); // miss: takes the limiter's only token, calls the backend
for (let i = 0; i < 10; i++) assert.equal(await getProduct(1), first); // hits: the very same object
assert.equal(backend.calls, 1);
assert.deepEqual(events.slice(0, 3), [EventType.CACHE_MISS, EventType.SUCCESS, EventType.CACHE_HIT]);
console.log(`1 miss + 10 hits: the backend ran ${backend.calls} time, the rate limiter (1 call/s) was never asked`);

const other = await getProduct(2).catch((error: unknown) => error); // a miss goes through the limiter
assert.ok(isRateLimitedError(other));
assert.equal(backend.calls, 1);
console.log(`getProduct(2) is a miss: it needs a token and is rejected (${other.code})`);

// 2. The cache handle: key, stats, invalidate.
assert.equal(getProduct.cache?.keyFor(1), 'loadProduct:#1');
const stats = getProduct.cache?.scope.stats();
assert.deepEqual({ hits: stats?.hits, misses: stats?.misses }, { hits: 10, misses: 2 });
console.log(`key of getProduct(1): '${getProduct.cache?.keyFor(1)}', stats: ${stats?.hits} hits, ${stats?.misses} misses`);

// 3. Fail-safe: after the ttl the entry is stale; when the pipeline then fails, the stale value answers.
events.length = 0;
const getPrice = resilient({
  cache: { ttl: 50, failSafe: '1m' },
  retry: { maxAttempts: 2, delay: 5 },
  onEvent: (event) => events.push(event.type),
})(async function getPrice(symbol: string) {
  await loadProduct(0);
  return symbol.length * 10;
});
backend.down = false;
const fresh = await getPrice('ACME');
await sleep(60);
backend.down = true;
const stale = await getPrice('ACME'); // the pipeline retries, fails, and the cache answers with the stale value
assert.equal(stale, fresh);
assert.deepEqual(events, [
  EventType.CACHE_MISS,
  EventType.SUCCESS,
  EventType.CACHE_MISS,
  EventType.RETRY,
  EventType.RETRY_EXHAUSTED,
  EventType.FAILURE, // the pipeline under the cache failed...
  EventType.CACHE_STALE_HIT, // ...and the cache answered with its stale value
]);
console.log(`fail-safe: the backend is down, getPrice('ACME') still answers ${stale} (stale)`);

// 4. Errors are never cached: each call after a failure runs the pipeline again.
const callsBefore = backend.calls;
await assert.rejects(getPrice('NEW'), /catalog unavailable/);
await assert.rejects(getPrice('NEW'), /catalog unavailable/);
assert.equal(backend.calls - callsBefore, 4); // 2 calls x 2 attempts
console.log('errors are not cached: two failing calls ran the backend 2 x 2 times');

// 5. One load for many: 100 concurrent cold calls run the function once.
backend.down = false;
const before = backend.calls;
const all = await Promise.all(Array.from({ length: 100 }, () => getPrice('BULK')));
assert.equal(backend.calls - before, 1);
assert.ok(all.every((price) => price === 40));
console.log('100 concurrent cold calls: the function ran once');

// 6. Share a scope you made yourself (its LRU, options and stats) instead of a scope per function.
const shared = new Cache().scope<string>('greetings', { ttl: '1m', maxSize: 10 });
let greeted = 0;
const greet = resilient({ cache: shared })(async function greet(name: string) {
  greeted++;
  return `hello ${name}`;
});
await greet('ada');
await greet('ada');
assert.equal(greeted, 1);
assert.deepEqual(shared.keys(), ['greet:ada']);
console.log(`shared scope '${shared.name}': keys ${JSON.stringify(shared.keys())}, ${shared.stats().hits} hit`);
