/**
 * resilient() — the rate limiter: a token bucket of `maxCalls` per `period` (a burst of `maxCalls`,
 * then one call every `period / maxCalls`). Without `maxWait` a call that finds no token is rejected at
 * once with `RateLimitedError` (and its `retryAfterMs`); with it, calls wait in line for their token.
 * The limiter belongs to the pipeline: every function it wraps draws from the same bucket.
 *
 * Run: pnpm build && pnpm exec tsx examples/core-rate-limiter.ts
 */
import assert from 'node:assert/strict';
import { EventType, isRateLimitedError, resilient } from '@toolkit/core';

// 1. 3 calls per 300 ms, no waiting: a burst of 3 passes, the next calls are rejected at once.
const retryHints: number[] = [];
const smsApi = resilient({
  name: 'sms',
  rateLimiter: { maxCalls: 3, period: 300 },
  onEvent: (event) => {
    if (event.type === EventType.RATE_LIMITED) retryHints.push(event.retryAfterMs);
  },
});
const sendSms = smsApi(async function sendSms(to: string) {
  return `sent to ${to}`;
});
const lookupNumber = smsApi(async function lookupNumber(to: string) {
  return `${to} is a mobile number`;
});

const burst = await Promise.allSettled([sendSms('a'), sendSms('b'), lookupNumber('c'), sendSms('d'), lookupNumber('e')]);
assert.deepEqual(
  burst.map((r) => r.status),
  ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected'],
);
const limited = burst[3]?.status === 'rejected' ? (burst[3].reason as unknown) : undefined;
assert.ok(isRateLimitedError(limited));
assert.equal(limited.code, 'E_RATE_LIMITED');
// One token comes back every 300 / 3 = 100 ms (less by now: the bucket refills continuously, and a loaded
// machine may have spent some of it before the fourth call).
assert.ok(limited.retryAfterMs > 0 && limited.retryAfterMs <= 100, `${limited.retryAfterMs}`);
assert.equal(retryHints.length, 2); // a RATE_LIMITED event per rejected call, with the same retryAfterMs
assert.ok((smsApi.rateLimiter?.availableTokens ?? 1) < 1);
console.log(`burst of 5 over 2 functions: 3 sent, 2 rejected: "${limited.message}"`);

// 2. maxWait: calls wait in line (first in, first out) when their token comes within maxWait.
const t0 = performance.now();
const startedAt: number[] = [];
const search = resilient({ rateLimiter: { maxCalls: 2, period: 100, maxWait: 120 } })(async function search(page: number) {
  startedAt.push(Math.round(performance.now() - t0));
  return page;
});
const pages = await Promise.allSettled([1, 2, 3, 4, 5].map((page) => search(page)));
assert.deepEqual(
  pages.map((r) => (r.status === 'fulfilled' ? r.value : 'rejected')),
  [1, 2, 3, 4, 'rejected'], // page 5's token would come after 150 ms: more than maxWait
);
const [first, second, third, fourth] = startedAt as [number, number, number, number];
// The burst starts at once, then a token every 50 ms: never earlier (later only on a loaded machine).
assert.ok(first <= second && second < third, `${startedAt}`);
assert.ok(third >= 45 && fourth >= 95, `${startedAt}`);
console.log(`maxWait 120 ms: pages 1-4 started at ${startedAt.join(', ')} ms; page 5 was rejected`);
