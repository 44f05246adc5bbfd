/**
 * resilient() — all four headline layers together, with one event listener: the quick start of the
 * README made runnable. `fetch` is replaced by a fake product API (no network), and the durations are
 * scaled down from seconds to milliseconds so the whole story takes a fraction of a second.
 *
 *   cache (outermost) → circuit breaker admission → retry → breaker records each attempt → timeout → fn
 *
 * Run: pnpm build && pnpm exec tsx examples/core-composition.ts
 */
import assert from 'node:assert/strict';
import { EventType, attemptSignal, isCircuitOpenError, resilient } from '@toolkit/core';
import type { EventTypeName } from '@toolkit/core';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// --- A fake product API: answers after `latencyMs`, or with the status a test scripts. ------------------
const api = { requests: 0, latencyMs: 2, script: [] as Array<number | 'hang'>, down: false };
async function fakeFetch(url: string, init: { signal: AbortSignal }): Promise<Response> {
  api.requests++;
  const next = api.script.shift() ?? (api.down ? 503 : 200);
  const ms = next === 'hang' ? 10_000 : api.latencyMs;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(init.signal.reason as Error); // as fetch does: reject with the signal's reason
    };
    init.signal.addEventListener('abort', onAbort, { once: true });
  });
  if (next !== 200 && next !== 'hang') return new Response('unavailable', { status: next });
  const id = Number(url.split('/').pop());
  return Response.json({ id, name: `Product ${id}` });
}

// --- The quick start (README.md), with fakeFetch and milliseconds. ------------------------------------
interface Product {
  id: number;
  name: string;
}
const counts = new Map<EventTypeName, number>();
const log: string[] = [];

const getProduct = resilient({
  name: 'products', // in events, errors and registry.health()
  cache: { ttl: '5m', maxSize: 1000 }, // outermost: a hit runs nothing below
  retry: { maxAttempts: 3, delay: '10ms', backoffFactor: 2 }, // 3 calls at most, backoff with jitter
  circuitBreaker: { failureThreshold: 5, halfOpenAfter: '200ms' },
  timeout: '50ms', // per attempt: aborts attemptSignal()
  onEvent: (e) => {
    counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
    if (e.type === EventType.RETRY) log.push(`retry after attempt ${e.attempt} (${(e.error as Error).message})`);
    if (e.type === EventType.CIRCUIT_OPEN) log.push(`circuit ${e.breaker} opened`);
  },
})(async (id: number): Promise<Product> => {
  const res = await fakeFetch(`https://api.example.com/products/${id}`, { signal: attemptSignal() });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return (await res.json()) as Product;
});

// 1. A miss whose first attempt gets a 503: retry fetches again; the answer is cached.
api.script = [503];
assert.deepEqual(await getProduct(42), { id: 42, name: 'Product 42' });
assert.equal(api.requests, 2);
console.log(`getProduct(42): miss, ${api.requests} requests (${log.join('; ')})`);

// 2. A hit: no request, no breaker, no timer.
assert.deepEqual(await getProduct(42), { id: 42, name: 'Product 42' });
assert.equal(api.requests, 2);
assert.deepEqual(getProduct.cache?.scope.stats().hits, 1);
console.log(`getProduct(42) again: hit, still ${api.requests} requests, key '${getProduct.cache?.keyFor(42)}'`);

// 3. A request that hangs: the 50 ms timeout aborts it through attemptSignal(), and retry tries again.
api.script = ['hang'];
let started = performance.now();
assert.deepEqual(await getProduct(7), { id: 7, name: 'Product 7' });
const took = performance.now() - started;
assert.ok(took < 500, `${took} ms`);
assert.equal(counts.get(EventType.TIMEOUT), 1);
console.log(`getProduct(7): attempt 1 hung, timed out at 50 ms and was aborted; attempt 2 answered (${Math.round(took)} ms)`);

// 4. An outage. Every attempt counts on the breaker: 3 failures in the first call, 2 more in the second
//    open the circuit, which ends that call's retries; the third call is rejected without a request.
api.down = true;
log.length = 0;
await assert.rejects(getProduct(1), /HTTP 503/); // the last error itself, after 3 attempts
await assert.rejects(getProduct(2), (error) => isCircuitOpenError(error));
const before = api.requests;
started = performance.now();
const failedFast = await getProduct(3).catch((error: unknown) => error);
assert.ok(isCircuitOpenError(failedFast));
assert.equal(api.requests, before);
assert.equal(getProduct.circuitBreaker?.state, 'open');
assert.ok(log.includes('circuit products opened'));
console.log(`outage: circuit products opened during getProduct(2); getProduct(3) failed fast in ${(performance.now() - started).toFixed(1)} ms: ${failedFast.message}`);

// Cached entries are still served while the circuit is open: the cache sits outside the breaker.
assert.deepEqual(await getProduct(42), { id: 42, name: 'Product 42' });
console.log('getProduct(42) while open: a hit, served from the cache');

// 5. Recovery: after halfOpenAfter a trial call goes through; it succeeds and the circuit closes.
await sleep(210);
api.down = false;
assert.deepEqual(await getProduct(3), { id: 3, name: 'Product 3' });
assert.equal(getProduct.circuitBreaker?.state, 'closed');
console.log(`recovered: ${getProduct.circuitBreaker?.state}`);

// The listener saw every layer.
assert.deepEqual(
  Object.fromEntries(counts),
  {
    CACHE_MISS: 6,
    RETRY: 6,
    SUCCESS: 3,
    CACHE_HIT: 2,
    TIMEOUT: 1,
    RETRY_EXHAUSTED: 1,
    FAILURE: 3,
    CIRCUIT_OPEN: 1,
    CIRCUIT_HALF_OPEN: 1,
    CIRCUIT_CLOSED: 1,
  },
);
console.log(`events: ${[...counts].map(([type, n]) => `${type} x${n}`).join(', ')}`);
