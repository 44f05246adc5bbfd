/**
 * resilient() — the fallback layer: a default answer once retries are exhausted, and on the pipeline's
 * own rejections (open circuit, full bulkhead, rate limit). It sits inside the cache (it is part of the
 * cache's loader), so its answers are not cached unless `cacheFallback: true`. `fallbackOn` picks the
 * errors it answers; `retry.ignoreOn` errors never reach it.
 *
 * Run: pnpm build && pnpm exec tsx examples/core-fallback.ts
 */
import assert from 'node:assert/strict';
import { EventType, isCircuitOpenError, resilient } from '@toolkit/core';
import type { EventTypeName } from '@toolkit/core';

const events: EventTypeName[] = [];
const onEvent = (event: { type: EventTypeName }) => events.push(event.type);

const recommender = { calls: 0, up: false };
async function recommend(userId: number): Promise<string[]> {
  recommender.calls++;
  if (!recommender.up) throw new Error('recommender down');
  return [`pick for ${userId}`];
}

// 1. A plain value. The order of the layers shows in the events: the cache misses, retry retries and
//    gives up, then the fallback answers. Its answer is not cached: the next call misses again.
const forYou = resilient({ cache: { ttl: '1m' }, retry: { maxAttempts: 2, delay: 1 }, fallback: ['bestsellers'], onEvent })(
  recommend,
);
assert.deepEqual(await forYou(1), ['bestsellers']);
assert.deepEqual(events, [EventType.CACHE_MISS, EventType.RETRY, EventType.RETRY_EXHAUSTED, EventType.FALLBACK_USED]);
console.log(`forYou(1) -> ["bestsellers"]: ${events.join(', ')}`);
recommender.up = true;
assert.deepEqual(await forYou(1), ['pick for 1']); // a miss again: the fallback was not stored
assert.deepEqual(await forYou(1), ['pick for 1']); // the real answer was: a hit
assert.equal(forYou.cache?.scope.stats().hits, 1);
console.log('once the recommender is back: a miss (fallbacks are not cached), then a hit');

// 2. A function of the error and the call's arguments (sync or async).
recommender.up = false;
const withReason = resilient({
  fallback: (error, [userId]) => [`(for ${userId}: ${(error as Error).message})`],
})(recommend);
assert.deepEqual(await withReason(7), ['(for 7: recommender down)']);
console.log(`fallback function: ${JSON.stringify(await withReason(7))}`);

// 3. cacheFallback: true stores the fallback answer like a real result, so the next call is a hit.
events.length = 0;
const cachedDefault = resilient({
  cache: { ttl: '1m' },
  fallback: { handler: ['bestsellers'], cacheFallback: true },
  onEvent,
})(recommend);
const callsBefore = recommender.calls;
await cachedDefault(2);
await cachedDefault(2);
assert.equal(recommender.calls - callsBefore, 1);
assert.deepEqual(events, [EventType.CACHE_MISS, EventType.FALLBACK_USED, EventType.CACHE_HIT]);
console.log(`cacheFallback: ${events.join(', ')}`);

// 4. The pipeline's own rejections go to the fallback too: here, an isolated circuit.
let rejection: unknown;
const guarded = resilient({
  circuitBreaker: { failureThreshold: 5 },
  fallback: (error) => {
    rejection = error;
    return ['circuit open: bestsellers'];
  },
})(recommend);
guarded.circuitBreaker?.isolate();
assert.deepEqual(await guarded(3), ['circuit open: bestsellers']);
assert.ok(isCircuitOpenError(rejection));
guarded.circuitBreaker?.reset();
console.log(`open circuit -> the fallback answered (it got a ${(rejection as Error).name})`);

// 5. fallbackOn: only these errors get the fallback; retry.ignoreOn errors pass straight through.
class NotFoundError extends Error {}
class TimeoutLike extends Error {}
const lookup = resilient({
  retry: { maxAttempts: 1, ignoreOn: [NotFoundError] },
  fallback: { handler: 'cached answer', fallbackOn: [TimeoutLike, NotFoundError] },
})(async (what: string): Promise<string> => {
  if (what === 'missing') throw new NotFoundError(`${what} not found`);
  if (what === 'slow') throw new TimeoutLike('too slow');
  throw new RangeError(`bad ${what}`);
});
assert.equal(await lookup('slow'), 'cached answer');
await assert.rejects(lookup('missing'), NotFoundError); // ignoreOn wins: never sent to the fallback
await assert.rejects(lookup('odd'), RangeError); // not in fallbackOn
console.log('fallbackOn: TimeoutLike answered by the fallback; NotFoundError (ignoreOn) and RangeError rethrown');
